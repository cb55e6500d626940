// The subcommands of the `ctdl` command. Each lives in its own file and is listed once in
// main.cpp.
#pragma once

namespace ctdl::cli {

int demo(int argc, char** argv);
int list(int argc, char** argv);
int run(int argc, char** argv);
int plot(int argc, char** argv);
int lab(int argc, char** argv);
int bench(int argc, char** argv);

}  // namespace ctdl::cli
