// Configurations as JSON, checked against the defaults: an unknown key or a value of the
// wrong type is an error naming the key and where it came from.
//
//   nlohmann::json config = {{"epochs", 10}, {"lr", 1e-3}, {"model", {{"width", 64}}}};
//   nn::merge_config(config, nn::read_json_file("my.json"), "my.json");
//   nn::merge_config(config, nn::parse_assignment("model.width=128"), "--set model.width=128");
//   // {"lr": "fast"}  -> Error: my.json: 'lr' must be a number, got "fast"
//   // {"epoch": 3}    -> Error: my.json: unknown key 'epoch' (known: epochs, lr, model)
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ctdl::nn {

using Json = nlohmann::json;

// Overwrites values of `config` with those of `overrides`. Every key must already be in
// `config`; numbers stay numbers (an integer fits a floating field, not the other way
// round), strings strings, booleans booleans, arrays arrays, and objects merge key by key.
void merge_config(Json& config, const Json& overrides, const std::string& where);

// "key=value" or "a.b.c=value" as {"a": {"b": {"c": value}}}; the value is read as JSON when
// it parses as JSON (3, 0.5, true, [1, 2], "text") and as a string otherwise (adam).
Json parse_assignment(const std::string& assignment);

Json read_json_file(const std::string& path);

}  // namespace ctdl::nn
