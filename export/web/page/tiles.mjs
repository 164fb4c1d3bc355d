// Exact tiles, the scheme of adain stylize (adain/tiling.py); site.json brings its constants.
// AdaIN needs only the relu4_1 mean and std of the whole picture: each tile is encoded with a
// halo over the encoder's receptive field, at offsets that are multiples of the stride, its
// interior features summed in float64 (JavaScript numbers); then each tile's features, with
// a halo over the decoder's receptive field, are renormalised and decoded. Pure functions.

/** Interiors {top, bottom, left, right} of size x size tiles (size rounded down to the
 * stride) covering the picture, the last row and column smaller. */
export function tiles(height, width, size, stride) {
  size = Math.max(stride, Math.floor(size / stride) * stride);
  const out = [];
  for (let top = 0; top < height; top += size) {
    for (let left = 0; left < width; left += size) {
      out.push({top, bottom: Math.min(top + size, height), left, right: Math.min(left + size, width)});
    }
  }
  return out;
}

/** The region with `halo` around it, cut at the picture's edges. */
export function widen(region, halo, height, width) {
  return {top: Math.max(region.top - halo, 0), bottom: Math.min(region.bottom + halo, height),
          left: Math.max(region.left - halo, 0), right: Math.min(region.right + halo, width)};
}

/** The feature positions under a region of pixels, widened by `halo` positions. */
export function featureRegion(region, halo, height, width, stride) {
  const cover = {top: Math.floor(region.top / stride), bottom: Math.ceil(region.bottom / stride),
                 left: Math.floor(region.left / stride), right: Math.ceil(region.right / stride)};
  return widen(cover, halo, Math.ceil(height / stride), Math.ceil(width / stride));
}

/** Rows [r0, r1) and columns [c0, c1) of a (channels, h, w) tensor, as a new tensor. */
export function crop(data, channels, h, w, r0, r1, c0, c1) {
  const rows = r1 - r0, cols = c1 - c0, out = new Float32Array(channels * rows * cols);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < rows; y++) {
      const from = (c * h + r0 + y) * w + c0;
      out.set(data.subarray(from, from + cols), (c * rows + y) * cols);
    }
  }
  return out;
}

/** Per-channel count, sum and sum of squares in float64, over many tiles. */
export class ChannelSums {
  constructor(channels) {
    this.channels = channels;
    this.n = 0;
    this.sum = new Float64Array(channels);
    this.squares = new Float64Array(channels);
  }

  add(data, positions) {  // data: (channels, positions) float32
    for (let c = 0; c < this.channels; c++) {
      let s = 0, q = 0;
      for (let i = c * positions, end = i + positions; i < end; i++) {
        const v = data[i];
        s += v;
        q += v * v;
      }
      this.sum[c] += s;
      this.squares[c] += q;
    }
    this.n += positions;
  }

  /** {mean, std} float32 (channels): std = sqrt(unbiased variance + eps), as calc_mean_std. */
  meanStd(eps) {
    const mean = new Float32Array(this.channels), std = new Float32Array(this.channels);
    const n = Math.max(this.n, 1), dof = Math.max(this.n - 1, 1);
    for (let c = 0; c < this.channels; c++) {
      const m = this.sum[c] / n;
      mean[c] = m;
      std[c] = Math.sqrt(Math.max(this.squares[c] - n * m * m, 0) / dof + eps);
    }
    return {mean, std};
  }
}
