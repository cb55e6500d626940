// ImageFolder: an image-classification dataset laid out as one sub-folder per class, read
// from a directory or straight from a .tar / .tar.gz archive of one.
//
//   // CIFAR-10 as shipped in ../shared/data/cifar10-jpg, without extracting it:
//   nn::data::ImageFolder train("../shared/data/cifar10-jpg/cifar10-train-jpg.tar.gz");
//   // ... or extracted (tar xzf cifar10-train-jpg.tar.gz -C ~/data):
//   nn::data::ImageFolder same("~/data/train");
//   train.classes();          // {"airplane", "automobile", ..., "truck"}: label = position
//   auto [image, label] = train.get(0);     // float32 [3, 32, 32] in [0, 1], int64 []
//
// The root holds one folder per class (sorted by name, which fixes the labels) and the
// images in it (.jpg, .jpeg, .png, .bmp; sorted by name). In an archive, the root is the
// folder named by `options.folder`, or else the archive's single top-level folder if all
// members are in it and it has sub-folders ("train/" in cifar10-train-jpg.tar.gz), or else
// the archive's top. Images are decoded
// on each get() (the DataLoader does that in parallel); an archive is held in memory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ctdl/nn/data/dataset.h"

namespace ctdl::nn::data {

class TarArchive;

struct ImageFolderOptions {
  int channels = 3;    // 1 decodes to grayscale, 3 to RGB
  std::string folder;  // the root inside an archive (or a sub-folder of a directory)
};

class ImageFolder : public Dataset {
 public:
  explicit ImageFolder(const std::string& path, ImageFolderOptions options = {});
  int64_t size() const override { return static_cast<int64_t>(items_.size()); }
  Example get(int64_t index) const override;
  const std::vector<std::string>& classes() const { return classes_; }
  // Where example `index` comes from (a file path, or archive:member).
  std::string source(int64_t index) const;
  int64_t label(int64_t index) const { return items_.at(index).label; }

 private:
  struct Item {
    std::string name;  // file path, or member name in the archive
    int64_t label;
    int64_t member = -1;  // index into the archive's members
  };
  std::string path_;
  ImageFolderOptions options_;
  std::shared_ptr<const TarArchive> archive_;
  std::vector<std::string> classes_;
  std::vector<Item> items_;
};

}  // namespace ctdl::nn::data
