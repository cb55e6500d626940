#include "ctdl/nn/train/config.h"

#include <cstring>
#include <fstream>
#include <vector>

#include "ctdl/tensor/error.h"

namespace ctdl::nn {

namespace {

const char* kind(const Json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "true or false";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

bool fits(const Json& existing, const Json& value) {
  if (existing.is_number_integer()) return value.is_number_integer();
  if (existing.is_number()) return value.is_number();
  if (existing.is_null()) return true;  // a default of null takes anything
  return existing.type() == value.type();
}

void merge(Json& config, const Json& overrides, const std::string& where,
           const std::string& prefix) {
  CTDL_CHECK(overrides.is_object(), where, ": expected a JSON object",
             prefix.empty() ? "" : " for '" + prefix + "'", ", got ", overrides.dump());
  for (const auto& [key, value] : overrides.items()) {
    std::string path = prefix.empty() ? key : prefix + "." + key;
    if (!config.contains(key)) {
      std::string known;
      for (const auto& [k, v] : config.items()) known += (known.empty() ? "" : ", ") + k;
      fail(where, ": unknown key '", path, "' (known", prefix.empty() ? "" : " in '" + prefix + "'",
           ": ", known, ")");
    }
    Json& existing = config[key];
    CTDL_CHECK(fits(existing, value), where, ": '", path, "' must be ", kind(existing), ", got ",
               value.dump());
    if (existing.is_object())
      merge(existing, value, where, path);
    else if (existing.is_number_float())
      existing = value.get<double>();  // stays a float: 1 -> 1.0
    else
      existing = value;
  }
}

}  // namespace

void merge_config(Json& config, const Json& overrides, const std::string& where) {
  merge(config, overrides, where, "");
}

Json parse_assignment(const std::string& assignment) {
  size_t eq = assignment.find('=');
  CTDL_CHECK(eq != std::string::npos && eq > 0, "--set: expected KEY=VALUE, got '", assignment,
             "'");
  std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  Json value = Json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;
  // a.b.c=v -> {"a": {"b": {"c": v}}}
  std::vector<std::string> parts;
  for (size_t begin = 0;;) {
    size_t dot = key.find('.', begin);
    parts.push_back(key.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin));
    CTDL_CHECK(!parts.back().empty(), "--set: empty part in the key '", key, "'");
    if (dot == std::string::npos) break;
    begin = dot + 1;
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) value = Json{{*it, value}};
  return value;
}

Json read_json_file(const std::string& path) {
  std::ifstream in(path);
  CTDL_CHECK(in.good(), "cannot open '", path, "': ", std::strerror(errno));
  try {
    return Json::parse(in);
  } catch (const Json::parse_error& e) {
    fail(path, ": not valid JSON near byte ", e.byte, ": ", e.what());
  }
}

}  // namespace ctdl::nn
