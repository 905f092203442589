// The dashboard page as served: its script is valid JavaScript once joined (the parts are strings, so no compiler
// checks them), and it names no external asset (a node often runs where the internet is not reachable). The page's
// behaviour is tested in a real browser: test/integration/dashboard-browser.test.ts.
import { describe, expect, it } from "vitest";
import { renderDashboard } from "../../../src/dashboard/page.js";

describe("renderDashboard", () => {
  const html = renderDashboard('n1"<x>');

  it("carries one script that parses", () => {
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    expect(() => new Function(scripts[0]!)).not.toThrow();
  });

  it("loads nothing from anywhere: no src/href to another origin, no @import, no url() but data:", () => {
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
    expect([...html.matchAll(/url\(([^)]*)\)/g)].filter((m) => !m[1]!.startsWith("data:"))).toEqual([]);
  });

  it("escapes the node id and is usable at a phone's width", () => {
    expect(html).toContain("n1&quot;&lt;x&gt;");
    expect(html).toContain('name="viewport" content="width=device-width, initial-scale=1"');
  });
});
