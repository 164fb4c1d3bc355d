// Styles: the bundled paintings and the visitor's own, each encoded once by style_encoder
// in the worker (at adain stylize's style size) and its statistics cached; one style, or
// two blended.

import {PageError, REBUILD, workerError} from './messages.mjs';
import {$, inference, intParam, state} from './page.mjs';
import {decode, pixelsOf} from './pictures.mjs';
import {fitShorter} from './pixels.mjs';

const STYLE_SIZE = 512;  // a style's shorter side, as adain stylize's --style-size default

/** A style's button in the list; `onPick(index, second)` when it is clicked (shift-click or
 * a long press: as the second style). Returns its index. */
export function addStyle(style, onPick) {
  const button = document.createElement('button');
  button.type = 'button';
  button.title = style.title + (style.author ? `, ${style.author}` : '');
  button.setAttribute('role', 'option');
  const img = document.createElement('img');
  img.src = style.url;
  img.alt = style.title;
  button.append(img);
  const index = state.styles.push({...style, button, stats: null}) - 1;
  button.addEventListener('click', (event) => onPick(index, event.shiftKey));
  let timer = null;
  button.addEventListener('touchstart', () => { timer = setTimeout(() => { timer = 'long'; }, 500); });
  button.addEventListener('touchend', (event) => {
    if (timer === 'long') {
      event.preventDefault();
      onPick(index, true);
    }
    clearTimeout(timer);
    timer = null;
  });
  $('styles').append(button);
  return index;
}

/** {mean, std, image} of style `index`: encoded on first use, then cached. */
export function statsOf(index) {
  const style = state.styles[index];
  if (!style.stats) {
    style.stats = encode(style);
    style.stats.catch(() => { style.stats = null; });  // a failure is tried again next time
  }
  return style.stats;
}

async function encode(style) {
  const response = await fetch(style.url);
  if (!response.ok) {
    throw new PageError(`The style ${style.file} is missing (HTTP ${response.status}): ${REBUILD}.`);
  }
  const bitmap = await decode(await response.blob(), style.title);
  const [h, w] = fitShorter(bitmap.height, bitmap.width, intParam('style') ?? STYLE_SIZE);
  const image = pixelsOf(bitmap, h, w);
  try {
    const {mean, std} = await inference.call('style', {image});
    return {mean, std, image};
  } catch (error) {
    throw new PageError(workerError(error, `the style ${style.title} (${w}×${h})`));
  }
}

/** The statistics to stylise with: the first style's, or the two styles' blended. AdaIN is
 * affine in the statistics, so blending them blends the results exactly. */
export async function currentStats() {
  const a = await statsOf(state.first);
  if (state.second === null) return a;
  const b = await statsOf(state.second);
  const t = state.blend;
  return {mean: a.mean.map((v, i) => (1 - t) * v + t * b.mean[i]),
          std: a.std.map((v, i) => (1 - t) * v + t * b.std[i])};
}

/** Make style `index` the first (or, with `second`, the one blended in). */
export function selectStyle(index, second) {
  if (second && index !== state.first) state.second = index;
  else if (!second) {
    state.first = index;
    if (state.second === index) state.second = null;
  }
  for (const [i, style] of state.styles.entries()) {
    style.button.setAttribute('aria-selected', String(i === state.first));
    style.button.classList.toggle('second', i === state.second);
  }
  $('blend-row').hidden = state.second === null;
  if (state.second !== null) {  // which end of the slider is which style
    $('blend-from').textContent = state.styles[state.first].name;
    $('blend-to').textContent = state.styles[state.second].name;
  }
}

/** The index of an added style with this file's name and size, or -1. */
export function findStyle(file) {
  return state.styles.findIndex((style) => style.title === file.name && style.bytes === file.size);
}

/** As results are named by adain stylize: `monet`, or `monet+scream` when blended. */
export function styleName() {
  const name = (i) => state.styles[i].name;
  return state.second === null ? name(state.first) : `${name(state.first)}+${name(state.second)}`;
}
