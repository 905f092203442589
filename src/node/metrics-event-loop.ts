// Event-loop delay as a sampled histogram, and as two gauges read at each scrape: the 99th percentile and the maximum delay since the previous
// scrape (perf_hooks.monitorEventLoopDelay, reset after every read). A stall between two scrapes shows even when the
// loop is quiet again by the time Prometheus looks, which a value sampled at scrape time would miss. Elections hinge
// on timers firing on time: a p99 near the election timeout is the first thing to look at when leaders flap.
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import client from "prom-client";

/** The sampling resolution of the delay monitor. */
const RESOLUTION_MS = 10;
/** How often the lag sampler behind the histogram expects to run: each run observes how late it came. */
export const LAG_SAMPLE_EVERY_MS = 100;
/** From a timer's jitter to an election-sized stall (the default election timeout is 150–300 ms). */
const LAG_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class EventLoopDelayMetrics {
  private readonly monitor: IntervalHistogram;
  private readonly lagTimer: NodeJS.Timeout;

  constructor(registry: client.Registry) {
    this.monitor = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.monitor.enable();
    const monitor = this.monitor;
    // Also a histogram, so that Prometheus can aggregate delays across scrapes and nodes (histogram_quantile): a
    // timer due every LAG_SAMPLE_EVERY_MS observes how late it fired. Unref'd: it never keeps a process alive.
    const lag = new client.Histogram({
      name: "raftsched_event_loop_delay_seconds",
      help: "How late a timer due every 100 ms fired: the event loop's delay, sampled",
      buckets: LAG_BUCKETS_SECONDS,
      registers: [registry],
    });
    let dueAt = performance.now() + LAG_SAMPLE_EVERY_MS;
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      lag.observe(Math.max(0, now - dueAt) / 1000);
      dueAt = now + LAG_SAMPLE_EVERY_MS;
    }, LAG_SAMPLE_EVERY_MS);
    this.lagTimer.unref();
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
    clearInterval(this.lagTimer);
    this.monitor.disable();
  }
}
