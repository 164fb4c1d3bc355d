// One picture through the model: whole, or in exact tiles when it is large, then the
// visitor's colours kept where asked.

import {Cancelled, PageError, workerError} from './messages.mjs';
import {$, api, inference, intParam, state} from './page.mjs';
import {keepColours} from './pixels.mjs';
import {currentStats} from './styles.mjs';

// Pictures above this many pixels are stylised in tiles, which keeps memory to one tile's
// (phones hold far less than desktops) and shows progress. The whole stylizer ran at 2048 x
// 2048 in Chromium's WASM here, so this leaves room.
const WHOLE_LIMIT = 2 * 1024 * 1024;
const TILE = 512;

function hasTiles() {
  return Boolean(state.site.graphs.encoder && state.site.graphs.decoder);
}

/** How to stylise a picture of this size: {height, width, tile, note}; the note says what
 * the visitor should know (tiles, or a picture shrunk to fit). */
export function plan(height, width) {
  const forced = intParam('tile', 16);
  if (forced && hasTiles() && Math.max(height, width) > forced) {
    return {height, width, tile: forced, note: `in tiles of ${forced} px`};
  }
  if (height * width <= WHOLE_LIMIT) return {height, width, tile: 0, note: ''};
  if (hasTiles()) return {height, width, tile: TILE, note: `in tiles of ${TILE} px`};
  const scale = Math.sqrt(WHOLE_LIMIT / (height * width));
  const h = Math.floor(height * scale), w = Math.floor(width * scale);
  return {height: h, width: w, tile: 0,
          note: `shrunk from ${width}×${height}, the most this site holds (the site's owner ` +
                'can add tiles with adain export --web)'};
}

/** Stylise RGBA `image` with the current style, strength and colours: {output, ms, tiles}. */
export async function stylize(image, onProgress = showProgress) {
  const stats = await currentStats();
  const job = {image: {...image, data: image.data.slice()}, mean: stats.mean, std: stats.std,
               alpha: state.alpha, tile: plan(image.height, image.width).tile};
  let result;
  try {
    result = await inference.call('stylize', job, [job.image.data.buffer], onProgress);
  } catch (error) {
    if (error.kind === 'cancelled') throw new Cancelled('cancelled');
    throw new PageError(workerError(error, `${image.width}×${image.height}`));
  } finally {
    if (onProgress === showProgress) {  // not a camera frame's
      $('progress').hidden = $('progress-note').hidden = $('cancel').hidden = true;
    }
  }
  const output = result.image;
  if (state.colours) keepColours(output.data, image.data);
  api.last = {input: image, output, mean: stats.mean, std: stats.std, alpha: state.alpha,
              colours: state.colours, tiles: result.tiles, ms: result.ms};
  api.done++;
  return {output, ms: result.ms, tiles: result.tiles};
}

/** The bar, the count and a Cancel button while tiles run (two passes over the tiles). */
export function showProgress(done, total) {
  $('progress').hidden = $('progress-note').hidden = $('cancel').hidden = false;
  $('progress').value = done / total;
  const pass = done <= total / 2 ? 1 : 2;
  $('progress-note').textContent = `tile ${done - (pass - 1) * total / 2} of ${total / 2}, ` +
                                   `pass ${pass} of 2`;
}
