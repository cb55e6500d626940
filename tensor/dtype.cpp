#include "ctdl/tensor/dtype.h"

namespace ctdl {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& out, DType t) { return out << dtype_name(t); }

// The enum is declared in promotion order, so the larger value wins.
DType promote_types(DType a, DType b) { return a > b ? a : b; }

DType promote_with_scalar(DType tensor, bool scalar_is_integral) {
  if (is_floating(tensor)) return tensor;
  if (scalar_is_integral) return tensor == DType::Bool ? DType::Int64 : tensor;
  return kDefaultFloat;
}

}  // namespace ctdl
