/**
 * How often a crashed host process is restarted: a crash now and then should cost the user a
 * blink, but a host that dies on start would otherwise restart forever.
 */
export class RestartBudget {
  private readonly crashes: number[] = [];

  constructor(
    private readonly maxRestarts = 3,
    private readonly windowMs = 60_000,
  ) {}

  /** Records a crash at `now` (ms); true if the host may be restarted once more. */
  allow(now: number): boolean {
    this.crashes.push(now);
    while (this.crashes.length > 0 && this.crashes[0]! <= now - this.windowMs) this.crashes.shift();
    return this.crashes.length <= this.maxRestarts;
  }
}
