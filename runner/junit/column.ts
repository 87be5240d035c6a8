export type Numbers = Uint8Array | Uint32Array | Float64Array

/**
 * Numbers appended one by one into a typed array that doubles when full: outside the JS heap
 * (a 640,000-case report's columns held as arrays of numbers took 45 MiB of heap and as much
 * garbage as they grew), and handed over without a copy (pack-report.ts, scan-junit.ts).
 */
export class Column<T extends Numbers> {
  private data: T
  length = 0

  constructor(private readonly Type: { new (length: number): T }) {
    this.data = new Type(1024)
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new this.Type(this.length * 2)
      grown.set(this.data)
      this.data = grown
    }
    this.data[this.length++] = value
  }

  /** The values, in a view of the column's own buffer (transfer its whole buffer). */
  finish(): T {
    return this.data.subarray(0, this.length) as T
  }
}
