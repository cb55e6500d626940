// File readers: MNIST IDX (plain and gzip), image folders (directories and tar archives), and
// malformed files of every kind, generated here, each giving an error with file and offset.
#include <unistd.h>
#include <zlib.h>

#include <fstream>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/data/files.h"
#include "ctdl/nn/data/image.h"
#include "ctdl/nn/data/image_folder.h"
#include "ctdl/nn/data/mnist.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::nn::data;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

// A fresh directory for one test case, removed at the end.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("ctdl_test_" + std::to_string(getpid()) + "_" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void write(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Bytes gzip(const Bytes& data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&z, data.size()) + 64);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = data.size();
  z.next_out = out.data();
  z.avail_out = out.size();
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void put_u32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// An IDX file of unsigned bytes: magic 0x0000080<dims>, sizes, then data.
Bytes idx(const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes b = {0, 0, 8, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) put_u32(b, d);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// Pixel k of image i is (i + 3k) mod 256; label i is i mod 10.
Bytes pixels(int n, int rows, int cols) {
  Bytes p;
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < rows * cols; ++k) p.push_back(static_cast<uint8_t>((i + 3 * k) % 256));
  return p;
}
Bytes labels(int n) {
  Bytes l;
  for (int i = 0; i < n; ++i) l.push_back(static_cast<uint8_t>(i % 10));
  return l;
}

}  // namespace

TEST_CASE("IDX images and labels read back exactly, plain or gzip-compressed", "[nn][readers]") {
  TempDir dir("idx");
  write(dir / "t10k-images-idx3-ubyte.gz", gzip(idx({12, 3, 2}, pixels(12, 3, 2))));
  write(dir / "t10k-labels-idx1-ubyte", idx({12}, labels(12)));
  Tensor images = read_idx_images(dir / "t10k-images-idx3-ubyte.gz");
  REQUIRE(images.shape() == Dims{12, 1, 3, 2});
  std::vector<double> v = images.to_vector<double>();
  for (int i = 0; i < 12; ++i)
    for (int k = 0; k < 6; ++k) CHECK(v[i * 6 + k] == Approx(((i + 3 * k) % 256) / 255.0));
  // Without training files: the last `holdout` images are held out.
  Mnist m = load_mnist(dir.path.string(), {.holdout = 4});
  CHECK(m.train.size() == 8);
  CHECK(m.test.size() == 4);
  CHECK(m.test.targets().to_vector<int64_t>() == std::vector<int64_t>{8, 9, 0, 1});
  CHECK(m.description.find("first 8 t10k images and evaluating on the last 4") !=
        std::string::npos);
  // train_limit keeps the first training images and says so; a limit above the count is none.
  Mnist limited = load_mnist(dir.path.string(), {.holdout = 4, .train_limit = 3});
  CHECK(limited.train.size() == 3);
  CHECK(limited.train.targets().to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2});
  CHECK(limited.test.size() == 4);
  CHECK(limited.description.find("training on the first 3 images only") != std::string::npos);
  CHECK(load_mnist(dir.path.string(), {.holdout = 4, .train_limit = 100}).train.size() == 8);
  // With training files: the standard split.
  write(dir / "train-images-idx3-ubyte.gz", gzip(idx({5, 3, 2}, pixels(5, 3, 2))));
  write(dir / "train-labels-idx1-ubyte.gz", gzip(idx({5}, labels(5))));
  Mnist full = load_mnist(dir.path.string());
  CHECK(full.train.size() == 5);
  CHECK(full.test.size() == 12);
  CHECK(full.description.find("standard split") != std::string::npos);
}

TEST_CASE("malformed IDX and gzip files give errors with file and offset", "[nn][readers]") {
  TempDir dir("bad_idx");
  std::string f = dir / "bad";
  auto images_error = [&](const Bytes& content, std::vector<const char*> fragments) {
    write(f, content);
    try {
      read_idx_images(f);
      FAIL("no error for a malformed file");
    } catch (const Error& e) {
      std::string what = e.what();
      INFO(what);
      CHECK(what.find(f) != std::string::npos);
      for (const char* s : fragments) CHECK(what.find(s) != std::string::npos);
    }
  };
  Bytes good = idx({4, 2, 2}, pixels(4, 2, 2));
  Bytes wrong_magic = good;
  wrong_magic[3] = 1;  // a label file's magic
  images_error(wrong_magic, {"wrong magic number 0x801 at offset 0"});
  images_error(Bytes(good.begin(), good.begin() + 2), {"truncated", "2 bytes"});
  images_error(Bytes(good.begin(), good.begin() + 10), {"truncated header: 10 bytes"});
  images_error(Bytes(good.begin(), good.end() - 3),
               {"truncated: the header promises 16 bytes of data from offset 16 but only 13"});
  Bytes longer = good;
  longer.push_back(7);
  images_error(longer, {"1 unexpected bytes after the data, at offset 32"});
  images_error(idx({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}),
               {"dimension 0 at offset 4 is 4294967295, more data than the file holds"});
  // gzip: a damaged stream and a cut-off one.
  Bytes gz = gzip(good);
  Bytes damaged = gz;
  for (size_t i = 12; i < 20; ++i) damaged[i] ^= 0xA5;
  images_error(damaged, {"gzip", "compressed offset"});
  images_error(Bytes(gz.begin(), gz.begin() + gz.size() / 2),
               {"truncated gzip data", "compressed offset"});
  Bytes trailing = gz;
  trailing.push_back(1), trailing.push_back(2);
  std::string at_end = "compressed offset " + std::to_string(gz.size());
  images_error(trailing, {"2 bytes of trailing garbage", at_end.c_str()});

  write(f, idx({3}, {1, 12, 3}));
  CHECK_THROWS_WITH_ALL(read_idx_labels(f), "label 12 at offset 9 is out of range [0, 9]");
  write(dir / "t10k-images-idx3-ubyte", good);
  write(dir / "t10k-labels-idx1-ubyte", idx({5}, labels(5)));
  CHECK_THROWS_WITH_ALL(load_mnist(dir.path.string()), "has 4 images but", "has 5 labels");
  CHECK_THROWS_WITH_ALL(read_idx_images(dir / "absent"), "cannot open", "absent");
}

TEST_CASE("the shared MNIST test set reads as 8,000 training and 2,000 held-out images",
          "[nn][readers]") {
  std::string dir = ctdl::testing::shared_data_dir("mnist");
  if (dir.empty()) {
    WARN("skipped: ../shared/data/mnist is absent");
    return;
  }
  Mnist m = load_mnist(dir);
  CHECK(m.train.size() == 8000);
  CHECK(m.test.size() == 2000);
  CHECK(m.train.inputs().shape() == Dims{8000, 1, 28, 28});
  // Known statistics of the MNIST test set: mean pixel about 0.1325, every class present.
  double mean = m.train.inputs().mean().item();
  CHECK(mean == Approx(0.1325).margin(0.003));
  CHECK(m.train.inputs().min().item() == 0.0);
  CHECK(m.train.inputs().max().item() == 1.0);
  std::vector<int64_t> counts(10);
  for (int64_t y : m.test.targets().to_vector<int64_t>()) counts.at(y)++;
  for (int64_t c : counts) CHECK(c > 150);
  // The test set's first label is a 7 (the famous first digit).
  CHECK(m.train.targets().to_vector<int64_t>()[0] == 7);
}

namespace {

// PNG image k of class c: 3 channels, 4x3 pixels, each value
// (c * 40 + k * 7 + channel * 3 + pixel) mod 256.
Bytes png(int c, int k) {
  std::vector<uint8_t> rgb;
  for (int p = 0; p < 12; ++p)
    for (int ch = 0; ch < 3; ++ch)
      rgb.push_back(static_cast<uint8_t>((c * 40 + k * 7 + ch * 3 + p) % 256));
  int length = 0;
  unsigned char* data = stbi_write_png_to_mem(rgb.data(), 3 * 4, 4, 3, 3, &length);
  Bytes out(data, data + length);
  STBIW_FREE(data);
  return out;
}

void check_folder(const ImageFolder& folder) {
  CHECK(folder.classes() == std::vector<std::string>{"cat", "dog"});
  REQUIRE(folder.size() == 5);
  for (int64_t i = 0; i < 5; ++i) {
    int c = i < 3 ? 0 : 1, k = i < 3 ? static_cast<int>(i) : static_cast<int>(i - 3);
    auto [image, label] = folder.get(i);
    CHECK(label.item<int64_t>() == c);
    REQUIRE(image.shape() == Dims{3, 3, 4});
    std::vector<double> v = image.to_vector<double>();
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 12; ++p)
        CHECK(v[ch * 12 + p] == Approx(((c * 40 + k * 7 + ch * 3 + p) % 256) / 255.0));
  }
}

}  // namespace

TEST_CASE("ImageFolder reads class folders from a directory, a .tar and a .tar.gz",
          "[nn][readers]") {
  TempDir dir("folder");
  fs::create_directories(dir.path / "data" / "train" / "cat");
  fs::create_directories(dir.path / "data" / "train" / "dog");
  for (int k = 0; k < 3; ++k)
    write(dir / ("data/train/cat/" + std::to_string(k) + ".png"), png(0, k));
  for (int k = 0; k < 2; ++k)
    write(dir / ("data/train/dog/" + std::to_string(k) + ".png"), png(1, k));
  write(dir / "data/train/notes.txt", {'h', 'i'});  // not a class folder: ignored
  check_folder(ImageFolder(dir / "data/train"));
  check_folder(ImageFolder(dir / "data", {.folder = "train"}));
  std::string cmd =
      "cd '" + (dir / "data") + "' && tar cf ../images.tar train && tar czf ../images.tar.gz train";
  REQUIRE(std::system(cmd.c_str()) == 0);
  check_folder(ImageFolder(dir / "images.tar"));  // root: the single top-level folder
  check_folder(ImageFolder(dir / "images.tar.gz"));
  ImageFolder gray(dir / "images.tar.gz", {.channels = 1});
  CHECK(gray.get(0).input.shape() == Dims{1, 3, 4});
  CHECK(gray.source(4) == dir / "images.tar.gz" + ":train/dog/1.png");
  // It batches through the DataLoader like any dataset.
  DataLoader loader(ImageFolder(dir / "images.tar"), {.batch_size = 5});
  for (auto [x, y] : loader) CHECK(y.to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 1, 1});
}

TEST_CASE("broken images and archives give errors with file and offset", "[nn][readers]") {
  TempDir dir("bad_images");
  fs::create_directories(dir.path / "root" / "a");
  Bytes image = png(0, 0);
  write(dir / "root/a/good.png", image);
  write(dir / "root/a/zbad.png", Bytes(image.begin(), image.begin() + 30));  // cut off mid-header
  ImageFolder folder(dir / "root");
  CHECK(folder.get(0).input.shape() == Dims{3, 3, 4});
  CHECK_THROWS_WITH_ALL(folder.get(1), "cannot decode", "zbad.png");
  CHECK_THROWS_WITH_ALL(ImageFolder(dir / "nowhere"), "neither a directory nor a .tar");

  REQUIRE(std::system(("cd '" + (dir / "root") + "' && tar cf ../a.tar a").c_str()) == 0);
  Bytes tar = read_file(dir / "a.tar");
  ImageFolder archived(dir / "a.tar");
  CHECK_THROWS_WITH_ALL(archived.get(1), "cannot decode", "a.tar:a/zbad.png", "at offset");
  // A damaged header: the checksum catches it.
  Bytes damaged = tar;
  damaged[3] ^= 0x20;
  write(dir / "damaged.tar", damaged);
  CHECK_THROWS_WITH_ALL(TarArchive(dir / "damaged.tar"), "bad header checksum at offset 0");
  // Cut inside a member's data, and inside a header.
  TarArchive original(dir / "a.tar");
  const auto& members = original.members();
  REQUIRE(members.size() == 2);
  write(dir / "cut.tar", Bytes(tar.begin(), tar.begin() + members[0].offset + 10));
  std::string header_at = "header is at offset " + std::to_string(members[0].offset - 512);
  std::string needs = "needs " + std::to_string(members[0].size) + " bytes";
  CHECK_THROWS_WITH_ALL(TarArchive(dir / "cut.tar"), "truncated", header_at.c_str(), needs.c_str());
  write(dir / "cut_header.tar", Bytes(tar.begin(), tar.begin() + 100));
  CHECK_THROWS_WITH_ALL(TarArchive(dir / "cut_header.tar"),
                        "truncated: a header starts at offset 0");
  // Not a tar at all.
  write(dir / "text.tar", Bytes(1024, 'x'));
  CHECK_THROWS_WITH_ALL(TarArchive(dir / "text.tar"), "text.tar", "offset 148");
}

TEST_CASE("write_png writes what decode_image reads back", "[nn][readers]") {
  TempDir dir("png");
  Tensor rgb = rand({3, 5, 7});
  write_png(dir / "a.png", rgb);
  Tensor back = read_image(dir / "a.png");
  CHECK(back.shape() == Dims{3, 5, 7});
  CHECK(ctdl::testing::max_abs_diff(back, rgb) <= 0.5 / 255 + 1e-6);  // 8-bit rounding only
  Tensor gray = rand({1, 4, 4}) * 2.0 - 0.5;                          // out of range: clamped
  write_png(dir / "g.png", gray);
  CHECK(ctdl::testing::max_abs_diff(read_image(dir / "g.png", 1), clamp(gray, 0.0, 1.0)) <=
        0.5 / 255 + 1e-6);
  CHECK_THROWS_WITH_ALL(write_png(dir / "x.png", zeros({2, 3, 3})), "1, 3 or 4 channels");
}

TEST_CASE("CIFAR-10 reads straight from the shared .tar.gz", "[nn][readers]") {
  std::string dir = ctdl::testing::shared_data_dir("cifar10-jpg");
  if (dir.empty()) {
    WARN("skipped: ../shared/data/cifar10-jpg is absent");
    return;
  }
  ImageFolder test(dir + "/cifar10-test-jpg.tar.gz");
  CHECK(test.size() == 10000);
  CHECK(test.classes() == std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer",
                                                   "dog", "frog", "horse", "ship", "truck"});
  auto [image, label] = test.get(9999);
  CHECK(image.shape() == Dims{3, 32, 32});
  CHECK(label.item<int64_t>() == 9);
  CHECK(test.label(1000) == 1);
  CHECK(image.min().item() >= 0.0);
  CHECK(image.max().item() <= 1.0);
}
