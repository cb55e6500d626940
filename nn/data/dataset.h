// Datasets: indexed collections of (input, target) examples.
//
//   nn::data::TensorDataset all(images, labels);          // images [N, ...], labels [N]
//   nn::data::TensorDataset train = all.slice(0, 8000), test = all.slice(8000, 10000);
//   nn::data::Example e = train.get(3);                    // input [...], target []
//
//   struct Squares : nn::data::Dataset {                   // your own: two methods
//     int64_t size() const override { return 100; }
//     nn::data::Example get(int64_t i) const override {
//       return {scalar_tensor(double(i)), scalar_tensor(double(i * i))};
//     }
//   };
//
// get() may be called from several threads at once (the DataLoader loads a batch in
// parallel), so a dataset must not change state in get().
#pragma once

#include <memory>
#include <vector>

#include "ctdl/tensor/tensor.h"

namespace ctdl::nn::data {

struct Example {
  Tensor input;
  Tensor target;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Example get(int64_t index) const = 0;
  // The examples at `indices`, stacked along a new first dimension. Datasets held in memory
  // override it with one index_select.
  virtual Example get_batch(const std::vector<int64_t>& indices) const;
};

// Stacks examples into a batch; throws naming the first example whose shape differs.
Example collate(const std::vector<Example>& examples);

// Inputs and targets held as tensors whose first dimension indexes the examples.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor inputs, Tensor targets);
  int64_t size() const override { return inputs_.shape()[0]; }
  Example get(int64_t index) const override;
  Example get_batch(const std::vector<int64_t>& indices) const override;
  // Examples begin..end-1, sharing memory with this dataset.
  TensorDataset slice(int64_t begin, int64_t end) const;
  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor inputs_, targets_;
};

// Some examples of another dataset, by index (for a train/validation split of a dataset
// that does not fit in a tensor).
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Example get(int64_t index) const override;

 private:
  std::shared_ptr<const Dataset> dataset_;
  std::vector<int64_t> indices_;
};

}  // namespace ctdl::nn::data
