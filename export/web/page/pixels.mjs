// The one boundary between pictures (RGBA bytes, row by row, as canvases hold them) and the
// graphs' tensors (float32 RGB NCHW in [0, 1]), and cheap picture maths. Pure functions.

/** A region of an RGBA picture (width x height) as float32 RGB (3 * h * w, NCHW planes). */
export function toTensor(rgba, width, top, bottom, left, right) {
  const h = bottom - top, w = right - left, plane = h * w;
  const out = new Float32Array(3 * plane);
  const scale = 1 / 255;
  for (let y = 0; y < h; y++) {
    let i = ((top + y) * width + left) * 4, o = y * w;
    for (let x = 0; x < w; x++, i += 4, o++) {
      out[o] = rgba[i] * scale;
      out[plane + o] = rgba[i + 1] * scale;
      out[2 * plane + o] = rgba[i + 2] * scale;
    }
  }
  return out;
}

/** Write rows [y0, y0 + h) and columns [x0, x0 + w) of a float32 RGB tensor (3, th, tw) into
 * an RGBA picture (width wide) at (top, left): clip to [0, 1], then round to 8 bits. */
export function fromTensor(data, th, tw, y0, x0, h, w, rgba, width, top, left) {
  const plane = th * tw;
  for (let y = 0; y < h; y++) {
    let i = ((top + y) * width + left) * 4, o = (y0 + y) * tw + x0;
    for (let x = 0; x < w; x++, i += 4, o++) {
      rgba[i] = toByte(data[o]);
      rgba[i + 1] = toByte(data[plane + o]);
      rgba[i + 2] = toByte(data[2 * plane + o]);
      rgba[i + 3] = 255;
    }
  }
}

function toByte(v) {
  return Math.floor(Math.min(Math.max(v * 255 + 0.5, 0), 255));
}

/** Luminance-only transfer (Gatys et al. 2016), in place: the stylised picture's luminance
 * (BT.601 Y) with the content's colour. Y enters R, G and B with weight 1 in YCbCr -> RGB,
 * so each channel moves by the change in Y. */
export function keepColours(stylized, content) {
  for (let i = 0; i < stylized.length; i += 4) {
    const dy = luma(stylized, i) - luma(content, i);
    stylized[i] = content[i] + dy;  // Uint8ClampedArray clamps and rounds
    stylized[i + 1] = content[i + 1] + dy;
    stylized[i + 2] = content[i + 2] + dy;
  }
  return stylized;
}

function luma(rgba, i) {
  return 0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2];
}

/** (height, width) with the longer side `size` (0 keeps the picture's), aspect kept, each
 * side at least `minSide`. */
export function fitLonger(height, width, size, minSide) {
  if (!size) return [height, width];
  const scale = Math.max(size / Math.max(height, width), minSide / Math.min(height, width));
  return [Math.max(minSide, Math.round(height * scale)), Math.max(minSide, Math.round(width * scale))];
}

/** (height, width) with the shorter side `size` (0 keeps the picture's), as adain stylize's
 * --content-size and --style-size. */
export function fitShorter(height, width, size) {
  if (!size || Math.min(height, width) === size) return [height, width];
  return height <= width ? [size, Math.floor(size * width / height)]
    : [Math.floor(size * height / width), size];
}
