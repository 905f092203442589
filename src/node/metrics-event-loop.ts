// Event-loop delay as two gauges read at each scrape: the 99th percentile and the maximum delay since the previous
// scrape (perf_hooks.monitorEventLoopDelay, reset after every read). A stall between two scrapes shows even when the
// loop is quiet again by the time Prometheus looks, which a value sampled at scrape time would miss. Elections hinge
// on timers firing on time: a p99 near the election timeout is the first thing to look at when leaders flap.
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import client from "prom-client";

/** The sampling resolution of the delay monitor. */
const RESOLUTION_MS = 10;

export class EventLoopDelayMetrics {
  private readonly monitor: IntervalHistogram;

  constructor(registry: client.Registry) {
    this.monitor = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.monitor.enable();
    const monitor = this.monitor;
    // One reading per scrape: the first gauge collected (registration order) takes it and resets the monitor.
    let reading = { p99Seconds: 0, maxSeconds: 0 };
    new client.Gauge({
      name: "raftsched_event_loop_delay_p99_seconds",
      help: "99th percentile of the event-loop delay since the previous scrape",
      registers: [registry],
      collect() {
        reading = monitor.count > 0 ? { p99Seconds: monitor.percentile(99) / 1e9, maxSeconds: monitor.max / 1e9 } : { p99Seconds: 0, maxSeconds: 0 };
        monitor.reset();
        this.set(reading.p99Seconds);
      },
    });
    new client.Gauge({
      name: "raftsched_event_loop_delay_max_seconds",
      help: "Largest event-loop delay since the previous scrape",
      registers: [registry],
      collect() {
        this.set(reading.maxSeconds);
      },
    });
  }

  stop(): void {
    this.monitor.disable();
  }
}
