#include "ctdl/nn/data/dataset.h"

#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn::data {

Example Dataset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (int64_t i : indices) examples.push_back(get(i));
  return collate(examples);
}

Example collate(const std::vector<Example>& examples) {
  CTDL_CHECK(!examples.empty(), "collate: no examples to batch");
  TensorList inputs, targets;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& e = examples[i];
    CTDL_CHECK(e.input.shape() == examples[0].input.shape() &&
                   e.target.shape() == examples[0].target.shape(),
               "collate: example ", i, " of the batch has input ", e.input.shape(), " and target ",
               e.target.shape(), " but example 0 has ", examples[0].input.shape(), " and ",
               examples[0].target.shape(),
               "; batched examples need equal shapes (resize or crop them)");
    inputs.push_back(e.input);
    targets.push_back(e.target);
  }
  return {stack(inputs), stack(targets)};
}

TensorDataset::TensorDataset(Tensor inputs, Tensor targets)
    : inputs_(std::move(inputs)), targets_(std::move(targets)) {
  CTDL_CHECK(inputs_.defined() && targets_.defined() && inputs_.dim() >= 1 && targets_.dim() >= 1 &&
                 inputs_.shape()[0] == targets_.shape()[0],
             "TensorDataset: inputs and targets need the same first dimension, got ",
             inputs_.defined() ? inputs_.shape() : Dims{}, " and ",
             targets_.defined() ? targets_.shape() : Dims{});
}

Example TensorDataset::get(int64_t index) const {
  CTDL_CHECK(index >= 0 && index < size(), "TensorDataset: index ", index, " out of range for ",
             size(), " examples");
  return {inputs_.select(0, index), targets_.select(0, index)};
}

Example TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  for (int64_t i : indices)
    CTDL_CHECK(i >= 0 && i < size(), "TensorDataset: index ", i, " out of range for ", size(),
               " examples");
  Tensor index =
      tensor(indices, {static_cast<int64_t>(indices.size())}, {.device = inputs_.device()});
  return {index_select(inputs_, 0, index), index_select(targets_, 0, index.to(targets_.device()))};
}

TensorDataset TensorDataset::slice(int64_t begin, int64_t end) const {
  CTDL_CHECK(0 <= begin && begin <= end && end <= size(), "TensorDataset::slice: [", begin, ", ",
             end, ") is not within the ", size(), " examples");
  return {inputs_.narrow(0, begin, end - begin), targets_.narrow(0, begin, end - begin)};
}

Subset::Subset(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> indices)
    : dataset_(std::move(dataset)), indices_(std::move(indices)) {
  for (int64_t i : indices_)
    CTDL_CHECK(i >= 0 && i < dataset_->size(), "Subset: index ", i, " out of range for ",
               dataset_->size(), " examples");
}

Example Subset::get(int64_t index) const {
  CTDL_CHECK(index >= 0 && index < size(), "Subset: index ", index, " out of range for ", size(),
             " examples");
  return dataset_->get(indices_[index]);
}

}  // namespace ctdl::nn::data
