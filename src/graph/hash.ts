/**
 * A fast 128-bit non-cryptographic hash over 32-bit words, for graph keys and
 * cache keys. Four lanes, each word multiplied, rotated and folded into one
 * lane, the lanes stirred into each other after every four words; a final
 * avalanche per lane. A node's key costs a few dozen words, so hashing stays
 * far below a microsecond, where a SHA-256 per node would dominate a graph.
 */

const M1 = 0x239b961b;
const M2 = 0xab0e9789;
const M3 = 0x38b34ae5;
const M4 = 0xa1e38b93;

const MASK = 0x3fffffff;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** Spreads every input bit over the whole word. */
function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * A 120-bit digest: four words of 30 bits. Words this small are V8 small
 * integers, so a node keeps its digest in plain fields without allocating.
 */
export interface Digest {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
}

/** Accumulates words; `digest()` ends it. Reusable after `reset()`. */
export class Hasher {
  a = 0;
  b = 0;
  c = 0;
  d = 0;
  /** The result of the last `finish()`: four 30-bit words. */
  o0 = 0;
  o1 = 0;
  o2 = 0;
  o3 = 0;
  #w0 = 0;
  #w1 = 0;
  #w2 = 0;
  #n = 0;

  constructor() {
    this.reset();
  }

  reset(): this {
    this.a = 0x9e3779b9;
    this.b = 0x7f4a7c15;
    this.c = 0xf39cc060;
    this.d = 0x5ced1b6d;
    this.#n = 0;
    return this;
  }

  /** One 32-bit word. */
  word(w: number): void {
    switch (this.#n++ & 3) {
      case 0: this.#w0 = w; break;
      case 1: this.#w1 = w; break;
      case 2: this.#w2 = w; break;
      default: this.#block(this.#w0, this.#w1, this.#w2, w);
    }
  }

  #block(k1: number, k2: number, k3: number, k4: number): void {
    let { a, b, c, d } = this;
    k1 = Math.imul(rotl(Math.imul(k1, M1), 15), M2);
    a = (Math.imul(rotl((a ^ k1), 19) + b, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, M2), 16), M3);
    b = (Math.imul(rotl((b ^ k2), 17) + c, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, M3), 17), M4);
    c = (Math.imul(rotl((c ^ k3), 15) + d, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, M4), 18), M1);
    d = (Math.imul(rotl((d ^ k4), 13) + a, 5) + 0x32ac3b17) | 0;
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** A number, exactly: small integers as one word, anything else as its float64 bits. */
  number(x: number): void {
    if ((x | 0) === x && (x !== 0 || 1 / x > 0)) {
      this.word(1);
      this.word(x);
    } else {
      f64[0] = x === x ? x : Number.NaN; // one NaN
      this.word(2);
      this.word(u32[0]);
      this.word(u32[1]);
    }
  }

  /** A string: its length, then its UTF-16 code units two to a word. */
  string(s: string): void {
    const n = s.length;
    this.word(n);
    let i = 0;
    for (; i + 1 < n; i += 2) this.word(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
    if (i < n) this.word(s.charCodeAt(i));
  }

  /** The four words of another digest. */
  digestOf(x: Digest): void {
    this.word(x.a);
    this.word(x.b);
    this.word(x.c);
    this.word(x.d);
  }

  /** Bytes, four to a word (a length first, so no two inputs share an encoding). */
  bytes(view: Uint8Array): void {
    const n = view.byteLength;
    this.word(n);
    const whole = n & ~3;
    if ((view.byteOffset & 3) === 0) {
      const words = new Uint32Array(view.buffer, view.byteOffset, whole >>> 2);
      for (let i = 0; i < words.length; i++) this.word(words[i]);
    } else {
      for (let i = 0; i < whole; i += 4) this.word(view[i] | (view[i + 1] << 8) | (view[i + 2] << 16) | (view[i + 3] << 24));
    }
    let tail = 0;
    for (let i = whole; i < n; i++) tail |= view[i] << ((i - whole) * 8);
    if (whole < n) this.word(tail);
  }

  /** Ends the hash into `o0`..`o3` (no allocation): pads the last block, folds in the length, mixes the lanes. */
  finish(): void {
    const n = this.#n;
    while ((this.#n & 3) !== 0) this.word(0x6a09e667);
    let { a, b, c, d } = this;
    a ^= n;
    b ^= n;
    c ^= n;
    d ^= n;
    a = (a + b + c + d) | 0;
    b = (b + a) | 0;
    c = (c + a) | 0;
    d = (d + a) | 0;
    a = avalanche(a);
    b = avalanche(b);
    c = avalanche(c);
    d = avalanche(d);
    a = (a + b + c + d) | 0;
    b = (b + a) | 0;
    c = (c + a) | 0;
    d = (d + a) | 0;
    this.o0 = a & MASK;
    this.o1 = b & MASK;
    this.o2 = c & MASK;
    this.o3 = d & MASK;
  }

  /** Ends the hash. */
  digest(): Digest {
    this.finish();
    return { a: this.o0, b: this.o1, c: this.o2, d: this.o3 };
  }
}

const DIGITS = Array.from('0123456789abcdefghijklmnopqrstuv', (ch) => ch.charCodeAt(0));

/** A digest as 24 base-32 digits (0-9, a-v): six per 30-bit word, one flat string. */
export function digestText(w0: number, w1: number, w2: number, w3: number): string {
  const t = DIGITS;
  return String.fromCharCode(
    t[(w0 >>> 25) & 31], t[(w0 >>> 20) & 31], t[(w0 >>> 15) & 31], t[(w0 >>> 10) & 31], t[(w0 >>> 5) & 31], t[w0 & 31],
    t[(w1 >>> 25) & 31], t[(w1 >>> 20) & 31], t[(w1 >>> 15) & 31], t[(w1 >>> 10) & 31], t[(w1 >>> 5) & 31], t[w1 & 31],
    t[(w2 >>> 25) & 31], t[(w2 >>> 20) & 31], t[(w2 >>> 15) & 31], t[(w2 >>> 10) & 31], t[(w2 >>> 5) & 31], t[w2 & 31],
    t[(w3 >>> 25) & 31], t[(w3 >>> 20) & 31], t[(w3 >>> 15) & 31], t[(w3 >>> 10) & 31], t[(w3 >>> 5) & 31], t[w3 & 31],
  );
}

/** A digest as text. */
export function toText(x: Digest): string {
  return digestText(x.a, x.b, x.c, x.d);
}

/** The digest of one string. */
export function hashString(s: string): Digest {
  const h = new Hasher();
  h.string(s);
  return h.digest();
}
