#include "ctdl/nn/data/image_folder.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "ctdl/nn/data/files.h"
#include "ctdl/nn/data/image.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn::data {

namespace {

namespace fs = std::filesystem;

bool is_image(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

bool is_archive(const std::string& path) {
  auto ends = [&](const std::string& s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".tar") || ends(".tar.gz") || ends(".tgz");
}

}  // namespace

ImageFolder::ImageFolder(const std::string& path, ImageFolderOptions options)
    : path_(path), options_(std::move(options)) {
  CTDL_CHECK(options_.channels == 1 || options_.channels == 3,
             "ImageFolder: channels must be 1 or 3, got ", options_.channels);
  // class name -> sorted image names
  std::map<std::string, std::vector<std::pair<std::string, int64_t>>> found;
  if (is_archive(path)) {
    archive_ = std::make_shared<TarArchive>(path);
    const auto& members = archive_->members();
    std::string root = options_.folder;
    if (root.empty()) {  // the single top-level folder, if it holds class folders
      std::string top;
      bool single = !members.empty(), nested = false;
      for (const auto& m : members) {
        size_t slash = m.name.find('/');
        std::string first = slash == std::string::npos ? "" : m.name.substr(0, slash);
        if (first.empty() || (!top.empty() && first != top)) single = false;
        nested = nested ||
                 (slash != std::string::npos && m.name.find('/', slash + 1) != std::string::npos);
        top = first;
      }
      if (single && nested) root = top;
    }
    std::string prefix = root.empty() ? "" : (root.back() == '/' ? root : root + "/");
    for (size_t i = 0; i < members.size(); ++i) {
      const std::string& name = members[i].name;
      if (name.compare(0, prefix.size(), prefix) != 0 || !is_image(name)) continue;
      std::string rest = name.substr(prefix.size());
      size_t slash = rest.find('/');
      if (slash == std::string::npos || rest.find('/', slash + 1) != std::string::npos) continue;
      found[rest.substr(0, slash)].emplace_back(name, static_cast<int64_t>(i));
    }
    CTDL_CHECK(!found.empty(), "ImageFolder: the archive ", path,
               " has no images in class folders under '", prefix.empty() ? "its top" : prefix,
               "' (expected CLASS/IMAGE.jpg members)");
  } else {
    fs::path root = options_.folder.empty() ? fs::path(path) : fs::path(path) / options_.folder;
    CTDL_CHECK(fs::is_directory(root), "ImageFolder: '", root.string(),
               "' is neither a directory nor a .tar, "
               ".tar.gz or .tgz archive");
    for (const auto& entry : fs::directory_iterator(root)) {
      if (!entry.is_directory()) continue;
      for (const auto& file : fs::directory_iterator(entry.path()))
        if (file.is_regular_file() && is_image(file.path().string()))
          found[entry.path().filename().string()].emplace_back(file.path().string(), -1);
    }
    CTDL_CHECK(!found.empty(), "ImageFolder: '", root.string(),
               "' has no class folders with images in them "
               "(expected ROOT/CLASS/IMAGE.jpg)");
  }
  for (auto& [cls, images] : found) {
    std::sort(images.begin(), images.end());
    int64_t label = static_cast<int64_t>(classes_.size());
    classes_.push_back(cls);
    for (auto& [name, member] : images) items_.push_back({name, label, member});
  }
}

std::string ImageFolder::source(int64_t index) const {
  const Item& item = items_.at(index);
  return archive_ ? path_ + ":" + item.name : item.name;
}

Example ImageFolder::get(int64_t index) const {
  CTDL_CHECK(index >= 0 && index < size(), "ImageFolder: index ", index, " out of range for ",
             size(), " images");
  const Item& item = items_[index];
  Tensor image;
  if (archive_) {
    const TarArchive::Member& m = archive_->members()[item.member];
    image = decode_image(archive_->data(m), source(index), options_.channels, m.offset);
  } else {
    image = read_image(item.name, options_.channels);
  }
  return {image, scalar_tensor(static_cast<double>(item.label), {.dtype = DType::Int64})};
}

}  // namespace ctdl::nn::data
