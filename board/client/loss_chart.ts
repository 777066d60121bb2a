// The live loss curve of a training run, drawn by uPlot (bundled, its CSS served by the board):
// the loss at each logged step and an exponential moving average, as LlamaFactory plots them.
import uPlot from "uplot";
import { S } from "./dom.ts";
import type { LogEntry } from "./types.ts";

const HEIGHT = 260;
/** Weight of the moving average (LlamaFactory's smooth() uses a sigmoid of the count; 0.9 reads alike). */
const SMOOTH = 0.9;

export class LossChart {
  readonly #el: HTMLElement;
  #steps: number[] = [];
  #loss: number[] = [];
  #plot?: uPlot;

  constructor(el: HTMLElement) {
    this.#el = el;
    // Drawn at the container's width; a hidden tab has none until shown.
    new ResizeObserver(() => this.#resize()).observe(el);
  }

  /** Redraws from a whole log (a new state, a reload). */
  reset(logs: readonly LogEntry[]): void {
    this.#steps = [];
    this.#loss = [];
    for (const e of logs) this.#push(e);
    this.#draw();
  }

  add(e: LogEntry): void {
    if (this.#push(e)) this.#draw();
  }

  #push(e: LogEntry): boolean {
    if (typeof e.loss !== "number" || !Number.isFinite(e.loss)) return false;
    this.#steps.push(e.current_steps);
    this.#loss.push(e.loss);
    return true;
  }

  #data(): uPlot.AlignedData {
    const smooth: number[] = [];
    for (const [i, y] of this.#loss.entries()) {
      smooth.push(i === 0 ? y : SMOOTH * smooth[i - 1] + (1 - SMOOTH) * y);
    }
    return [this.#steps, this.#loss, smooth];
  }

  #draw(): void {
    this.#el.dataset.points = String(this.#loss.length);
    if (!this.#loss.length) {
      this.#plot?.destroy();
      this.#plot = undefined;
      return;
    }
    if (this.#plot) {
      this.#plot.setData(this.#data());
      return;
    }
    this.#plot = new uPlot(
      {
        width: this.#width(),
        height: HEIGHT,
        title: S.loss,
        scales: { x: { time: false } },
        axes: [{ label: S.step }, { label: S.loss }],
        series: [
          { label: S.step },
          { label: S.loss, stroke: "#94a3b8", width: 1, points: { show: true, size: 4 } },
          { label: "EMA", stroke: "#2563eb", width: 2, points: { show: false } },
        ],
      },
      this.#data(),
      this.#el,
    );
  }

  #width(): number {
    return Math.max(this.#el.clientWidth, 300);
  }

  #resize(): void {
    if (this.#plot && this.#el.clientWidth) {
      this.#plot.setSize({ width: this.#width(), height: HEIGHT });
    }
  }
}
