import type { LiveColumn } from './column-fit.js';

/**
 * Texts remembered before the memory starts over. Most columns repeat a few values (methods,
 * hosts, states), measured again once after a start over; ids and times rarely repeat, so without
 * a bound the memory would grow with every row scrolled past. At 4096 the keys held were ~0.4 MiB,
 * the size of 200 exchanges in the page.
 */
const KNOWN_LIMIT = 1024;

/**
 * Reads the width each fitted cell of a rendered row needs to show its text whole, padding
 * included. A cell whose text (with the classes that style it) was measured before is not read
 * again: a list scrolled by the wheel brings a screenful of new rows every frame, and most of
 * their cells repeat a value seen before. Reading needs an up-to-date layout, so the caller reads
 * every row it has in one go, after the last change to the page and before writing anything.
 */
export class CellWidths {
  /**
   * One range for every measurement. A range stays registered with its document until it is
   * garbage collected, and every node removed from the page is checked against each one: a range
   * per row measured made removing the rows that scroll out several times slower.
   */
  private range: Range | undefined;
  private readonly known = new Map<string, number>();
  private readonly paddings = new Map<string, number>();

  /** The width each cell of `row` needs, in column order; 0 for fixed tracks and empty cells. */
  needed(row: HTMLElement, columns: readonly LiveColumn[]): number[] {
    return columns.map((column, i) => {
      const cell = row.children[i];
      if ('track' in column || !(cell instanceof HTMLElement)) return 0;
      const text = cell.textContent;
      if (!text) return 0;
      // The row's classes may change the font (a failed exchange's state is bold), the cell's its
      // padding and face.
      const key = `${i}\n${row.className}\n${cell.className}\n${text}`;
      let width = this.known.get(key);
      if (width === undefined) {
        width = this.textWidth(cell) + this.padding(cell, i);
        if (this.known.size >= KNOWN_LIMIT) this.known.clear();
        this.known.set(key, width);
      }
      return width;
    });
  }

  /**
   * The text's own width, in fractions of a pixel: `scrollWidth` rounds, and a text 0.4 px too
   * wide for its cell still gets an ellipsis.
   */
  private textWidth(cell: HTMLElement): number {
    this.range ??= document.createRange();
    this.range.selectNodeContents(cell);
    return this.range.getBoundingClientRect().width;
  }

  /** A cell's padding depends on its column and classes, never on its text. */
  private padding(cell: HTMLElement, column: number): number {
    const key = `${column}\n${cell.className}`;
    let padding = this.paddings.get(key);
    if (padding === undefined) {
      const style = getComputedStyle(cell);
      padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
      this.paddings.set(key, padding);
    }
    return padding;
  }
}
