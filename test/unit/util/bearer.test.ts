// The one bearer-token rule of the HTTP API and the peer transport (src/util/bearer.ts): scheme case-insensitive,
// token exact, whitespace around the value ignored.
import { describe, expect, it } from "vitest";
import { bearerTokenMatches } from "../../../src/util/bearer.js";

const TOKEN = "s3cret-token";

describe("bearerTokenMatches", () => {
  it("accepts the right token", () => {
    expect(bearerTokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
  });

  it("accepts the scheme in any case (RFC 7235 §2.1)", () => {
    for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
      expect(bearerTokenMatches(`${scheme} ${TOKEN}`, TOKEN), scheme).toBe(true);
    }
  });

  it("accepts several spaces or tabs after the scheme and blanks around the value", () => {
    for (const h of [`Bearer   ${TOKEN}`, `Bearer\t${TOKEN}`, ` Bearer ${TOKEN} `, `Bearer ${TOKEN}\t`, `bearer   ${TOKEN} `]) {
      expect(bearerTokenMatches(h, TOKEN), JSON.stringify(h)).toBe(true);
    }
  });

  it("refuses a wrong token, of the same length or another", () => {
    const sameLength = TOKEN.slice(0, -1) + "X";
    expect(sameLength.length).toBe(TOKEN.length);
    for (const wrong of [sameLength, TOKEN.toUpperCase(), TOKEN.slice(0, -1), `${TOKEN}x`, "x", "A".repeat(5000)]) {
      expect(bearerTokenMatches(`Bearer ${wrong}`, TOKEN), wrong.slice(0, 40)).toBe(false);
    }
  });

  it("refuses a missing header, another scheme and garbage", () => {
    const bad = [
      undefined,
      "",
      "   ",
      TOKEN,
      "Bearer",
      "Bearer ",
      "Bearer  \t ",
      `Bearer${TOKEN}`,
      `Bearerx ${TOKEN}`,
      `Basic ${TOKEN}`,
      `Basic ${Buffer.from(`user:${TOKEN}`).toString("base64")}`,
      `Token ${TOKEN}`,
      `Bearer ${TOKEN} extra`,
      `Bearer Bearer ${TOKEN}`,
      `${TOKEN} Bearer`,
      `Bearer ${TOKEN}\u00a0`, // a no-break space is not an HTTP blank
    ];
    for (const h of bad) expect(bearerTokenMatches(h, TOKEN), JSON.stringify(h)).toBe(false);
  });

  it("matches nothing when the expected token is empty (fail closed)", () => {
    for (const h of [undefined, "", "Bearer", "Bearer ", "Bearer  ", "bearer x"]) {
      expect(bearerTokenMatches(h, ""), JSON.stringify(h)).toBe(false);
    }
  });

  it("compares the token as given, inner spaces included", () => {
    expect(bearerTokenMatches("Bearer two words", "two words")).toBe(true);
    expect(bearerTokenMatches("Bearer two  words", "two words")).toBe(false);
  });

  it("takes linear time on a long run of blanks", () => {
    const h = `Bearer${" ".repeat(200_000)}x${" ".repeat(200_000)}y`;
    const t0 = performance.now();
    expect(bearerTokenMatches(h, TOKEN)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
