#include "tensor/reference.h"

#include <cmath>
#include <limits>

namespace ctdl::reference {

int64_t Host::flat(const Index& idx) const {
  int64_t f = 0;
  for (int i = 0; i < shape.size(); ++i) f = f * shape[i] + idx[i];
  return f;
}

void for_each_index(const Dims& shape, const std::function<void(const Index&)>& fn) {
  if (numel(shape) == 0) return;
  Index idx(shape.size(), 0);
  while (true) {
    fn(idx);
    int d = shape.size() - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

Index broadcast_index(const Index& idx, const Dims& shape) {
  Index out(shape.size());
  int lead = static_cast<int>(idx.size()) - shape.size();
  for (int i = 0; i < shape.size(); ++i) out[i] = shape[i] == 1 ? 0 : idx[i + lead];
  return out;
}

Host map(const Host& x, const std::function<double(double)>& f) {
  Host out = x;
  for (double& v : out.v) v = f(v);
  return out;
}

Host zip(const Host& a, const Host& b, const std::function<double(double, double)>& f) {
  Host out = Host::zeros(broadcast_shapes(a.shape, b.shape, "reference"));
  for_each_index(out.shape, [&](const Index& i) {
    out.at(i) = f(a.at(broadcast_index(i, a.shape)), b.at(broadcast_index(i, b.shape)));
  });
  return out;
}

Host where(const Host& c, const Host& a, const Host& b) {
  Dims shape = broadcast_shapes(broadcast_shapes(c.shape, a.shape, "ref"), b.shape, "ref");
  Host out = Host::zeros(shape);
  for_each_index(shape, [&](const Index& i) {
    out.at(i) = c.at(broadcast_index(i, c.shape)) != 0 ? a.at(broadcast_index(i, a.shape))
                                                       : b.at(broadcast_index(i, b.shape));
  });
  return out;
}

namespace {

std::vector<bool> reduced_mask(int ndim, const Dims& dims) {
  std::vector<bool> mask(ndim, dims.empty());
  for (int64_t d : dims) mask[d < 0 ? d + ndim : d] = true;
  return mask;
}

Dims reduced_shape(const Dims& shape, const std::vector<bool>& mask, bool keepdim) {
  Dims out;
  for (int i = 0; i < shape.size(); ++i) {
    if (!mask[i]) out.push_back(shape[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

Index reduced_index(const Index& idx, const std::vector<bool>& mask, bool keepdim) {
  Index out;
  for (size_t i = 0; i < idx.size(); ++i) {
    if (!mask[i]) out.push_back(idx[i]);
    else if (keepdim) out.push_back(0);
  }
  return out;
}

}  // namespace

Host reduce(const Host& x, const Dims& dims, bool keepdim, double init,
            const std::function<double(double, double)>& combine,
            const std::function<double(double, int64_t)>& finish) {
  std::vector<bool> mask = reduced_mask(x.shape.size(), dims);
  Host out = Host::zeros(reduced_shape(x.shape, mask, keepdim));
  std::fill(out.v.begin(), out.v.end(), init);
  for_each_index(x.shape, [&](const Index& i) {
    double& slot = out.at(reduced_index(i, mask, keepdim));
    slot = combine(slot, x.at(i));
  });
  int64_t count = out.v.empty() ? 0 : static_cast<int64_t>(x.v.size() / out.v.size());
  if (finish)
    for (double& v : out.v) v = finish(v, count);
  return out;
}

Host var(const Host& x, const Dims& dims, int64_t correction, bool keepdim) {
  Host m = reduce(x, dims, true, 0.0, std::plus<>(), [](double s, int64_t n) { return s / n; });
  std::vector<bool> mask = reduced_mask(x.shape.size(), dims);
  Host sq = x;
  for_each_index(x.shape, [&](const Index& i) {
    double d = x.at(i) - m.at(reduced_index(i, mask, true));
    sq.at(i) = d * d;
  });
  return reduce(sq, dims, keepdim, 0.0, std::plus<>(),
                [correction](double s, int64_t n) { return s / static_cast<double>(n - correction); });
}

Host arg_extreme(const Host& x, int dim, bool keepdim, bool max) {
  std::vector<bool> mask(x.shape.size(), false);
  mask[dim] = true;
  Host best = Host::zeros(reduced_shape(x.shape, mask, keepdim));
  Host arg = best;
  std::vector<bool> seen(best.v.size(), false);
  for_each_index(x.shape, [&](const Index& i) {
    int64_t k = best.flat(reduced_index(i, mask, keepdim));
    double v = x.at(i);
    if (!seen[k] || (max ? v > best.v[k] : v < best.v[k])) {
      seen[k] = true;
      best.v[k] = v;
      arg.v[k] = static_cast<double>(i[dim]);
    }
  });
  return arg;
}

Host matmul(const Host& a, const Host& b) {
  int na = a.shape.size(), nb = b.shape.size();
  int64_t m = a.shape[na - 2], k = a.shape[na - 1], n = b.shape[nb - 1];
  Dims batch = broadcast_shapes(Dims(a.shape.begin(), a.shape.end() - 2),
                                Dims(b.shape.begin(), b.shape.end() - 2), "ref");
  Dims out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Host out = Host::zeros(out_shape);
  Dims a_batch(a.shape.begin(), a.shape.end() - 2), b_batch(b.shape.begin(), b.shape.end() - 2);
  for_each_index(out_shape, [&](const Index& i) {
    Index bi(i.begin(), i.end() - 2);
    Index ai = broadcast_index(bi, a_batch), bj = broadcast_index(bi, b_batch);
    double s = 0;
    for (int64_t p = 0; p < k; ++p) {
      Index ia = ai, ib = bj;
      ia.push_back(i[i.size() - 2]), ia.push_back(p);
      ib.push_back(p), ib.push_back(i.back());
      s += a.at(ia) * b.at(ib);
    }
    out.at(i) = s;
  });
  return out;
}

Host permute(const Host& x, const Dims& order) {
  Dims shape;
  for (int64_t d : order) shape.push_back(x.shape[d]);
  Host out = Host::zeros(shape);
  for_each_index(shape, [&](const Index& i) {
    Index src(i.size());
    for (size_t k = 0; k < i.size(); ++k) src[order[k]] = i[k];
    out.at(i) = x.at(src);
  });
  return out;
}

Host slice(const Host& x, int dim, int64_t start, int64_t end, int64_t step) {
  Dims shape = x.shape;
  shape[dim] = (end - start + step - 1) / step;
  Host out = Host::zeros(shape);
  for_each_index(shape, [&](const Index& i) {
    Index src = i;
    src[dim] = start + i[dim] * step;
    out.at(i) = x.at(src);
  });
  return out;
}

Host cat(const std::vector<Host>& xs, int dim) {
  Dims shape = xs[0].shape;
  shape[dim] = 0;
  for (const Host& x : xs) shape[dim] += x.shape[dim];
  Host out = Host::zeros(shape);
  int64_t start = 0;
  for (const Host& x : xs) {
    for_each_index(x.shape, [&](const Index& i) {
      Index dst = i;
      dst[dim] += start;
      out.at(dst) = x.at(i);
    });
    start += x.shape[dim];
  }
  return out;
}

Host index_select(const Host& x, int dim, const std::vector<int64_t>& index) {
  Dims shape = x.shape;
  shape[dim] = static_cast<int64_t>(index.size());
  Host out = Host::zeros(shape);
  for_each_index(shape, [&](const Index& i) {
    Index src = i;
    src[dim] = index[i[dim]];
    out.at(i) = x.at(src);
  });
  return out;
}

Host gather(const Host& x, int dim, const Host& index) {
  Host out = Host::zeros(index.shape);
  for_each_index(index.shape, [&](const Index& i) {
    Index src = i;
    src[dim] = static_cast<int64_t>(index.at(i));
    out.at(i) = x.at(src);
  });
  return out;
}

Host scatter_add(const Host& x, int dim, const Host& index, const Host& src) {
  Host out = x;
  for_each_index(index.shape, [&](const Index& i) {
    Index dst = i;
    dst[dim] = static_cast<int64_t>(index.at(i));
    out.at(dst) += src.at(i);
  });
  return out;
}

Host pad(const Host& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
  Dims shape = x.shape;
  int nd = shape.size();
  for (size_t k = 0; k < pads.size() / 2; ++k) shape[nd - 1 - k] += pads[2 * k] + pads[2 * k + 1];
  Host out = Host::zeros(shape);
  for_each_index(shape, [&](const Index& i) {
    Index src = i;
    bool outside = false;
    for (size_t k = 0; k < pads.size() / 2; ++k) {
      int d = nd - 1 - static_cast<int>(k);
      int64_t n = x.shape[d], j = i[d] - pads[2 * k];
      if (j < 0 || j >= n) {
        switch (mode) {
          case PadMode::Constant: outside = true; break;
          case PadMode::Circular: j = ((j % n) + n) % n; break;
          case PadMode::Reflect: j = j < 0 ? -j : 2 * (n - 1) - j; break;
          case PadMode::Replicate: j = j < 0 ? 0 : n - 1; break;
        }
      }
      src[d] = j;
    }
    out.at(i) = outside ? value : x.at(src);
  });
  return out;
}

Host conv2d(const Host& x, const Host& w, const Host* bias, const Conv2dOptions& o) {
  int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
  int64_t oc = w.shape[0], kh = w.shape[2], kw = w.shape[3], g = o.groups;
  int64_t oh = (h + 2 * o.pad_h - o.dilation_h * (kh - 1) - 1) / o.stride_h + 1;
  int64_t ow = (wd + 2 * o.pad_w - o.dilation_w * (kw - 1) - 1) / o.stride_w + 1;
  Host out = Host::zeros({n, oc, oh, ow});
  int64_t cg = c / g, og = oc / g;
  for_each_index(out.shape, [&](const Index& i) {
    int64_t group = i[1] / og;
    double s = bias ? bias->v[i[1]] : 0.0;
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t a = 0; a < kh; ++a)
        for (int64_t b = 0; b < kw; ++b) {
          int64_t y = i[2] * o.stride_h - o.pad_h + a * o.dilation_h;
          int64_t xx = i[3] * o.stride_w - o.pad_w + b * o.dilation_w;
          if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
          s += x.at({i[0], group * cg + ci, y, xx}) * w.at({i[1], ci, a, b});
        }
    out.at(i) = s;
  });
  return out;
}

Host pool2d(const Host& x, const Pool2dOptions& o, bool max) {
  int64_t sh = o.stride_h ? o.stride_h : o.kernel_h, sw = o.stride_w ? o.stride_w : o.kernel_w;
  int64_t h = x.shape[2], w = x.shape[3];
  int64_t oh = (h + 2 * o.pad_h - o.dilation_h * (o.kernel_h - 1) - 1) / sh + 1;
  int64_t ow = (w + 2 * o.pad_w - o.dilation_w * (o.kernel_w - 1) - 1) / sw + 1;
  Host out = Host::zeros({x.shape[0], x.shape[1], oh, ow});
  for_each_index(out.shape, [&](const Index& i) {
    double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
    for (int64_t a = 0; a < o.kernel_h; ++a)
      for (int64_t b = 0; b < o.kernel_w; ++b) {
        int64_t y = i[2] * sh - o.pad_h + a * o.dilation_h, xx = i[3] * sw - o.pad_w + b * o.dilation_w;
        bool inside = y >= 0 && y < h && xx >= 0 && xx < w;
        double v = inside ? x.at({i[0], i[1], y, xx}) : (max ? -INFINITY : 0.0);
        acc = max ? std::max(acc, v) : acc + v;
      }
    out.at(i) = max ? acc : acc / static_cast<double>(o.kernel_h * o.kernel_w);
  });
  return out;
}

Host softmax(const Host& x, int dim, bool log) {
  Host m = reduce(x, {dim}, true, -INFINITY, [](double a, double b) { return std::max(a, b); });
  Host e = x;
  std::vector<bool> mask(x.shape.size(), false);
  mask[dim] = true;
  for_each_index(x.shape, [&](const Index& i) { e.at(i) = std::exp(x.at(i) - m.at(reduced_index(i, mask, true))); });
  Host s = reduce(e, {dim}, true, 0.0, std::plus<>());
  Host out = x;
  for_each_index(x.shape, [&](const Index& i) {
    Index r = reduced_index(i, mask, true);
    out.at(i) = log ? x.at(i) - m.at(r) - std::log(s.at(r)) : e.at(i) / s.at(r);
  });
  return out;
}

}  // namespace ctdl::reference
