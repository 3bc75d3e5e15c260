#!/usr/bin/env node
/**
 * Draws Sluice's app icon and writes every file electron-builder wants, with Node alone:
 *
 *   build/icons/icon.png        1024x1024, the source for anything else
 *   build/icons/NxN.png         16 to 512, for Linux (electron-builder reads the folder)
 *   build/icons/icon.ico        Windows: 16-48 as bitmaps (what older shells and NSIS read), 64-256 as PNG
 *   build/icons/icon.icns       macOS: PNG entries from 16 to 1024
 *   build/tray/tray-STATE.png   the tray icon per state (off, on, error), 16 px and @2x 32 px,
 *                               in colour on its own tile (tray backgrounds range from white to black)
 *   build/tray/tray-STATETemplate.png   the same states as macOS template images: black and alpha
 *                               only, which the menu bar tints, so states differ by shape
 *
 *   node scripts/make-icons.mjs
 *
 * The mark is a sluice gate: two posts and a raised gate panel over water flowing beneath, on a
 * rounded square. In the tray the gate is raised with water flowing when the system proxy points
 * at Sluice (on), lowered with no water when it does not (off), and lowered with a red "!" badge
 * when the proxy or the switch failed (error). Each size is drawn from the shapes (4x4 samples a
 * pixel), not scaled down, so small sizes stay crisp. The file names are the ones
 * main/electron/tray-model.ts asks for; a test checks every one exists at its size.
 */
import { Buffer } from 'node:buffer';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { deflateSync } from 'node:zlib';

const OUT = fileURLToPath(new URL('../build/icons/', import.meta.url));
const TRAY_OUT = fileURLToPath(new URL('../build/tray/', import.meta.url));
const SAMPLES = 4;

const NAVY = [11, 42, 69];
const TEAL = [14, 116, 144];
const STEEL = [203, 213, 225];
const GATE = [241, 245, 249];
const GATE_SHADE = [148, 163, 184];
const WATER = [56, 189, 248];
const FOAM = [186, 230, 253];

/** The colour at (x, y) in the unit square, topmost shape first; undefined is transparent. */
function colourAt(x, y) {
  if (!inRoundedRect(x, y, 0.06, 0.06, 0.94, 0.94, 0.2)) return undefined;
  const waterTop = 0.64 + 0.035 * Math.sin(2 * Math.PI * (x * 2.2 + 0.1));
  const inPost = y > 0.18 && y < 0.86 && ((x > 0.24 && x < 0.32) || (x > 0.68 && x < 0.76));
  if (inPost) return STEEL;
  if (y > waterTop) {
    const foamLine = waterTop + 0.09 + 0.025 * Math.sin(2 * Math.PI * (x * 2.2 + 0.45));
    return Math.abs(y - foamLine) < 0.018 ? FOAM : WATER;
  }
  if (x >= 0.32 && x <= 0.68 && y > 0.22 && y < 0.5) return Math.abs(y - 0.36) < 0.02 ? GATE_SHADE : GATE;
  return mix(NAVY, TEAL, (y - 0.06) / 0.88);
}

function inRoundedRect(x, y, left, top, right, bottom, radius) {
  const cx = Math.min(Math.max(x, left + radius), right - radius);
  const cy = Math.min(Math.max(y, top + radius), bottom - radius);
  return x >= left && x <= right && y >= top && y <= bottom && (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2;
}

function mix(a, b, t) {
  return a.map((value, i) => Math.round(value + (b[i] - value) * t));
}

const SLATE_DARK = [51, 65, 85];
const SLATE = [100, 116, 139];
const SLATE_LIGHT = [203, 213, 225];
const SLATE_PALE = [226, 232, 240];
const RED = [220, 38, 38];
const WHITE = [255, 255, 255];
const BLACK = [0, 0, 0];

/**
 * The tray's gate in its own unit square: which part is at (x, y), or undefined. Open: the gate
 * raised over flowing water (a body of it in colour; in one colour that would merge with the posts
 * into a bowl, so two waves between them instead); closed: the gate down, nothing flowing.
 */
function trayGlyphAt(x, y, open, waves) {
  if (y > 0.04 && y < 0.96 && ((x > 0.06 && x < 0.2) || (x > 0.8 && x < 0.94))) return 'post';
  const between = x > 0.27 && x < 0.73;
  if (open) {
    if (between && y > 0.06 && y < 0.38) return 'gate';
    const wave = (top) => Math.abs(y - (top + 0.05 * Math.sin(2 * Math.PI * (x * 2 + 0.1)))) < 0.065;
    if (waves) return between && (wave(0.6) || wave(0.85)) ? 'water' : undefined;
    if (x > 0.02 && x < 0.98 && y < 0.96 && y > 0.64 + 0.06 * Math.sin(2 * Math.PI * (x * 2 + 0.1))) return 'water';
    return undefined;
  }
  if (between && y > 0.3 && y < 0.96) return Math.abs(y - 0.6) < 0.045 ? 'slit' : 'gate';
  return undefined;
}

/** The error badge, in the icon's unit square: 'badge', 'mark' (the "!"), 'gap' around it, or undefined. */
function badgeAt(x, y) {
  const [cx, cy] = [0.74, 0.74];
  const d = Math.hypot(x - cx, y - cy);
  if (d > 0.34) return undefined;
  if (d > 0.26) return 'gap';
  const bar = Math.abs(x - cx) < 0.05 && y > cy - 0.17 && y < cy + 0.03;
  const dot = Math.hypot(x - cx, y - (cy + 0.11)) < 0.05;
  return bar || dot ? 'mark' : 'badge';
}

/** A tray icon in colour, on a tile of its own: the app's colours when on, slate otherwise. */
function trayColourAt(state) {
  const on = state === 'on';
  return (x, y) => {
    const badge = state === 'error' ? badgeAt(x, y) : undefined;
    if (badge === 'gap') return undefined;
    if (badge) return badge === 'mark' ? WHITE : RED;
    if (!inRoundedRect(x, y, 0, 0, 1, 1, 0.22)) return undefined;
    const part = trayGlyphAt((x - 0.14) / 0.72, (y - 0.14) / 0.72, on, false);
    if (part === 'post') return on ? STEEL : SLATE_LIGHT;
    if (part === 'gate') return on ? GATE : SLATE_PALE;
    if (part === 'slit') return SLATE;
    if (part === 'water') return WATER;
    return on ? mix(NAVY, TEAL, y) : mix(SLATE_DARK, SLATE, y);
  };
}

/** A tray icon as a macOS template image: black where drawn, alpha for the rest. */
function trayTemplateAt(state) {
  return (x, y) => {
    const badge = state === 'error' ? badgeAt(x, y) : undefined;
    if (badge) return badge === 'badge' ? BLACK : undefined;
    const part = trayGlyphAt(x, y, state === 'on', true);
    return part && part !== 'slit' ? BLACK : undefined;
  };
}

/** RGBA pixels of the app icon. */
function render(size) {
  return draw(size, colourAt);
}

/** RGBA pixels, straight (not premultiplied) alpha, rows top to bottom, of `shape` over the unit square. */
function draw(size, shape) {
  const pixels = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let covered = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const colour = shape((px + (sx + 0.5) / SAMPLES) / size, (py + (sy + 0.5) / SAMPLES) / size);
          if (!colour) continue;
          r += colour[0];
          g += colour[1];
          b += colour[2];
          covered++;
        }
      }
      const at = (py * size + px) * 4;
      if (covered === 0) continue;
      pixels[at] = Math.round(r / covered);
      pixels[at + 1] = Math.round(g / covered);
      pixels[at + 2] = Math.round(b / covered);
      pixels[at + 3] = Math.round((255 * covered) / (SAMPLES * SAMPLES));
    }
  }
  return pixels;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function png(size, pixels) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) pixels.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(rows, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An ICO image as a 32-bit DIB: BGRA rows bottom-up, then the 1-bit AND mask (all zero: alpha rules). */
function dib(size, pixels) {
  const header = Buffer.alloc(40);
  header.writeUInt32LE(40, 0);
  header.writeInt32LE(size, 4);
  header.writeInt32LE(size * 2, 8); // colour rows plus mask rows
  header.writeUInt16LE(1, 12);
  header.writeUInt16LE(32, 14);
  const colour = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = (y * size + x) * 4;
      const to = ((size - 1 - y) * size + x) * 4;
      colour[to] = pixels[from + 2];
      colour[to + 1] = pixels[from + 1];
      colour[to + 2] = pixels[from];
      colour[to + 3] = pixels[from + 3];
    }
  }
  const maskRow = Math.ceil(size / 32) * 4;
  return Buffer.concat([header, colour, Buffer.alloc(maskRow * size)]);
}

function ico(images) {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ size, data }, i) => {
    const entry = 6 + 16 * i;
    header[entry] = size >= 256 ? 0 : size; // 0 means 256
    header[entry + 1] = size >= 256 ? 0 : size;
    header.writeUInt16LE(1, entry + 4);
    header.writeUInt16LE(32, entry + 6);
    header.writeUInt32LE(data.length, entry + 8);
    header.writeUInt32LE(offset, entry + 12);
    offset += data.length;
  });
  return Buffer.concat([header, ...images.map((image) => image.data)]);
}

function icns(entries) {
  const blocks = entries.map(({ type, data }) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'ascii');
    head.writeUInt32BE(data.length + 8, 4);
    return Buffer.concat([head, data]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'ascii');
  head.writeUInt32BE(8 + blocks.reduce((sum, block) => sum + block.length, 0), 4);
  return Buffer.concat([head, ...blocks]);
}

const SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
const pixels = new Map(SIZES.map((size) => [size, render(size)]));
const pngs = new Map(SIZES.map((size) => [size, png(size, pixels.get(size))]));

mkdirSync(OUT, { recursive: true });
const write = (name, data, dir = OUT) => {
  writeFileSync(path.join(dir, name), data);
  process.stdout.write(`${path.relative(process.cwd(), path.join(dir, name))} (${data.length} bytes)\n`);
};
write('icon.png', pngs.get(1024));
for (const size of [16, 24, 32, 48, 64, 128, 256, 512]) write(`${size}x${size}.png`, pngs.get(size));
write(
  'icon.ico',
  ico([
    ...[16, 24, 32, 48].map((size) => ({ size, data: dib(size, pixels.get(size)) })),
    ...[64, 128, 256].map((size) => ({ size, data: pngs.get(size) })),
  ]),
);
// icp4/icp5: 16 and 32; ic11-ic14: the @2x (Retina) variants; ic07-ic10: 128 to 1024.
write(
  'icon.icns',
  icns([
    { type: 'icp4', data: pngs.get(16) },
    { type: 'icp5', data: pngs.get(32) },
    { type: 'ic11', data: pngs.get(32) },
    { type: 'ic12', data: pngs.get(64) },
    { type: 'ic07', data: pngs.get(128) },
    { type: 'ic13', data: pngs.get(256) },
    { type: 'ic08', data: pngs.get(256) },
    { type: 'ic14', data: pngs.get(512) },
    { type: 'ic09', data: pngs.get(512) },
    { type: 'ic10', data: pngs.get(1024) },
  ]),
);

// Tray: 16 px at 1x and 32 px as @2x, which Electron's image loading picks up beside the 1x file.
mkdirSync(TRAY_OUT, { recursive: true });
for (const state of ['off', 'on', 'error']) {
  for (const [suffix, size] of [
    ['', 16],
    ['@2x', 32],
  ]) {
    write(`tray-${state}${suffix}.png`, png(size, draw(size, trayColourAt(state))), TRAY_OUT);
    write(`tray-${state}Template${suffix}.png`, png(size, draw(size, trayTemplateAt(state))), TRAY_OUT);
  }
}
