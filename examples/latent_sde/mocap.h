// The CMU motion-capture set of the latent SDE paper: subject 35 walking, as preprocessed by
// Yildiz, Heinonen & Lähdesmäki (ODE²VAE, 2019) into mocap35.mat: 16 training, 3 validation
// and 4 test sequences of 300 frames of 50 joint angles, float64.
//
//   Mocap m = load_mocap(run.data_dir("mocap"));   // the folder holding mocap35.mat
//   m.train.shape();                                // [16, 300, 50]
//
// The file is a MATLAB 5 MAT-file; read_mat reads its uncompressed double matrices (what this
// file holds) and says so when it meets anything else.
#pragma once

#include <map>
#include <string>

#include "ctdl/tensor/tensor.h"

namespace ctdl::examples::latent_sde {

// Every real double matrix of a MAT-file (level 5, uncompressed), by name, row-major.
std::map<std::string, Tensor> read_mat(const std::string& path);

struct Mocap {
  Tensor train, val, test;  // [sequences, frames, 50], float64, as in the file
  std::string description;
};

// `dir` holds mocap35.mat. Throws, saying where to get it, when it is absent.
Mocap load_mocap(const std::string& dir);

// Where the data comes from, for error messages and the README.
inline constexpr const char* kMocapSource =
    "mocap35.mat is the CMU motion-capture subject 35 walking set preprocessed by Yildiz et al. "
    "(ODE2VAE, 2019), distributed with https://github.com/cagatayyildiz/ODE2VAE (raw data: "
    "http://mocap.cs.cmu.edu, subject 35); put it in a folder and pass --data FOLDER";

}  // namespace ctdl::examples::latent_sde
