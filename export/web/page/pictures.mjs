// Pictures in the page: files decoded, pictures drawn at a size as RGBA bytes, shown and
// downloaded.

import {PageError, pictureError} from './messages.mjs';
import {$} from './page.mjs';

/** A file or blob as an ImageBitmap, EXIF orientation applied; a file that is no picture
 * is refused in one sentence. */
export async function decode(blob, name) {
  try {
    return await createImageBitmap(blob, {imageOrientation: 'from-image'});
  } catch {
    throw new PageError(pictureError(name));
  }
}

// One canvas to draw every picture into (each camera frame among them), resized as needed.
const scratch = new OffscreenCanvas(1, 1);
const context = scratch.getContext('2d', {willReadFrequently: true});

/** A picture (bitmap or video) at height x width, transparency on white, as RGBA bytes. */
export function pixelsOf(source, height, width) {
  scratch.width = width;  // also clears it, and resets the context's settings
  scratch.height = height;
  context.fillStyle = '#fff';
  context.fillRect(0, 0, width, height);
  context.imageSmoothingQuality = 'high';
  context.drawImage(source, 0, 0, width, height);
  const {data} = context.getImageData(0, 0, width, height);
  return {data, width, height};
}

/** RGBA bytes painted into `canvas`, which takes their size. */
function paint(canvas, image) {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d').putImageData(new ImageData(image.data, image.width, image.height), 0, 0);
  return canvas;
}

export function show(image) {
  paint($('output'), image);
}

export async function pngOf(image) {
  return paint(new OffscreenCanvas(1, 1), image).convertToBlob({type: 'image/png'});
}

export function download(blob, name) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}

export function stamp() {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

export function baseName(name) {
  return name.replace(/\.[^.]*$/, '');
}
