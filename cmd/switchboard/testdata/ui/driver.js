// A line-oriented remote control of a real browser for ui_e2e_test.go.
//
// Usage: node driver.js CHROMIUM_PATH
// Reads one JSON command per line on stdin, answers one JSON line on stdout:
// {"ok": true, "value": ...} or {"ok": false, "error": "..."}. The Go test
// holds the scenario; this file only knows how to drive Chromium through
// playwright-core (SWITCHBOARD_TEST_PLAYWRIGHT), never downloading a browser.
//
// Every browser context ("ctx": a name) records the dialogs its pages
// opened, every request its pages (and their frames) made, and console
// errors, so the test can prove that hostile content ran and loaded nothing.
"use strict";
const readline = require("readline");
const { chromium } = require(process.env.SWITCHBOARD_TEST_PLAYWRIGHT || "playwright-core");

const contexts = {}; // name -> {context, page, dialogs, requests, console}
let browser;

async function ctx(name) {
  if (contexts[name]) return contexts[name];
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "en-GB", timezoneId: "UTC" });
  const page = await context.newPage();
  const c = { context, page, dialogs: [], requests: [], console: [] };
  page.on("dialog", async (d) => { c.dialogs.push(d.message()); await d.dismiss().catch(() => {}); });
  context.on("request", (r) => c.requests.push(r.url()));
  page.on("console", (m) => { if (m.type() === "error") c.console.push(m.text()); });
  page.on("pageerror", (e) => c.console.push("pageerror: " + e.message));
  contexts[name] = c;
  return c;
}

function withTimeout(p, ms, msg) {
  return Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(msg)), ms))]);
}

const ops = {
  async goto(c, a) {
    const r = await c.page.goto(a.url, { waitUntil: "load" });
    return r ? r.status() : 0;
  },
  async fill(c, a) { await c.page.fill(a.selector, a.value, { timeout: a.timeout || 10000 }); },
  async click(c, a) { await c.page.click(a.selector, { timeout: a.timeout || 10000 }); },
  async select(c, a) { await c.page.selectOption(a.selector, a.value, { timeout: a.timeout || 10000 }); },
  async press(c, a) { await c.page.keyboard.press(a.key); },
  async type(c, a) { await c.page.type(a.selector, a.text, { delay: a.delay || 20 }); },
  async focus(c, a) { await c.page.focus(a.selector); },
  async waitFor(c, a) {
    await c.page.waitForSelector(a.selector, { state: a.state || "visible", timeout: a.timeout || 15000 });
  },
  // waitText waits until some element matching selector contains text.
  async waitText(c, a) {
    await c.page.waitForFunction(([sel, text]) =>
      [...document.querySelectorAll(sel)].some((n) => n.textContent.includes(text)),
    [a.selector, a.text], { timeout: a.timeout || 15000, polling: 100 });
  },
  async waitCount(c, a) {
    await c.page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length >= n,
      [a.selector, a.count], { timeout: a.timeout || 15000, polling: 100 });
  },
  async texts(c, a) { return c.page.$$eval(a.selector, (ns) => ns.map((n) => n.textContent)); },
  async attrs(c, a) { return c.page.$$eval(a.selector, (ns, at) => ns.map((n) => n.getAttribute(at)), a.attr); },
  async count(c, a) { return c.page.$$eval(a.selector, (ns) => ns.length); },
  async styles(c, a) { return c.page.$$eval(a.selector, (ns, p) => ns.map((n) => getComputedStyle(n)[p]), a.prop); },
  // probe reports side effects hostile content might have had on the app.
  async probe(c) {
    return c.page.evaluate(() => ({
      title: document.title,
      pwned: typeof window.__pwned !== "undefined" || document.documentElement.hasAttribute("data-pwned"),
      scripts: document.scripts.length,
      location: location.href,
      imgs: [...document.querySelectorAll("img")].map((i) => i.src),
    }));
  },
  // frames lists the app's frames with what a test wants to know of them.
  async frames(c) {
    const out = [];
    for (const f of c.page.frames()) {
      if (f === c.page.mainFrame()) continue;
      let info = { url: f.url() };
      try {
        info = Object.assign(info, await f.evaluate(() => ({
          html: document.body ? document.body.innerHTML : "",
          scripts: document.scripts.length,
          pwned: typeof window.__pwned !== "undefined",
          imgs: [...document.images].map((i) => ({ src: i.src, complete: i.complete, w: i.naturalWidth })),
        })));
      } catch (e) { info.error = String(e.message || e); }
      out.push(info);
    }
    const el = await c.page.$$eval("iframe", (ns) => ns.map((n) => ({ sandbox: n.getAttribute("sandbox"), src: n.getAttribute("src") })));
    return { frames: out, elements: el };
  },
  // fetch runs fetch() inside the page: with its cookies, without any header
  // the app would add.
  async fetch(c, a) {
    return c.page.evaluate(async ([url, method, headers, body]) => {
      const r = await fetch(url, { method, headers, body, credentials: "same-origin" });
      return { status: r.status, body: await r.text() };
    }, [a.url, a.method || "GET", a.headers || {}, a.body]);
  },
  // scrollTop scrolls an element to its top, as a person reading back does.
  async scrollTop(c, a) { await c.page.$eval(a.selector, (n) => { n.scrollTop = 0; }); },
  async screenshot(c, a) { await c.page.screenshot({ path: a.path, fullPage: !!a.full }); },
  async record(c) { return { dialogs: c.dialogs, requests: c.requests, console: c.console }; },
  async wait(c, a) { await c.page.waitForTimeout(a.ms); },
  // frameLoaded waits for the load event of the frame of an <iframe>.
  async frameLoaded(c, a) {
    const h = await c.page.waitForSelector(a.selector, { state: "attached", timeout: a.timeout || 15000 });
    const f = await h.contentFrame();
    if (!f) throw new Error("no frame for " + a.selector);
    await f.waitForLoadState("load", { timeout: a.timeout || 15000 });
  },
  // hold makes the next request for path (method, default GET) reach the
  // hub at once but hands its answer to the page only ms later: an old
  // answer arriving after newer ones. holding waits until that request
  // has been answered by the hub, held until the page has the answer.
  async hold(c, a) {
    let fetched, delivered;
    const h = { fetched: new Promise((r) => { fetched = r; }), delivered: new Promise((r) => { delivered = r; }) };
    c.held = h;
    const method = a.method || "GET";
    const handler = async (route, request) => {
      if (request.method() !== method || new URL(request.url()).pathname !== a.path) return route.fallback();
      await c.page.unroute("**/*", handler);
      const resp = await route.fetch();
      fetched();
      setTimeout(async () => { await route.fulfill({ response: resp }).catch(() => {}); delivered(); }, a.ms || 2000);
    };
    await c.page.route("**/*", handler);
  },
  async holding(c) { await withTimeout(c.held.fetched, 15000, "the held request was never made"); },
  async held(c) { await withTimeout(c.held.delivered, 30000, "the held answer was never delivered"); },
  async close(c, a) { await c.context.close(); delete contexts[a.ctx]; },
  // viewport resizes the page (a phone: 360×740).
  async viewport(c, a) { await c.page.setViewportSize({ width: a.width, height: a.height }); },
  async reload(c) { await c.page.reload({ waitUntil: "load" }); },
  // eval returns the value of a JavaScript expression in the page.
  async eval(c, a) { return c.page.evaluate(a.expr); },
  // axe runs axe-core (a.path: axe.min.js) on the page and returns its
  // violations (a.rules: only those rules). It is evaluated through the
  // DevTools protocol, which the page's CSP does not govern, so the app's
  // own policy stays as it is.
  async axe(c, a) {
    await c.page.evaluate(require("fs").readFileSync(a.path, "utf8"));
    return c.page.evaluate(async (rules) => {
      const opts = { iframes: false, resultTypes: ["violations"] };
      if (rules) opts.runOnly = { type: "rule", values: rules };
      const r = await window.axe.run(document, opts);
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " ")) }));
    }, a.rules || null);
  },
};

(async () => {
  browser = await chromium.launch({
    executablePath: process.argv[2] || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--font-render-hinting=none"],
  });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let out;
    try {
      const a = JSON.parse(line);
      const f = ops[a.op];
      if (!f) throw new Error("unknown op " + a.op);
      const value = await f(await ctx(a.ctx || "main"), a);
      out = { ok: true, value: value === undefined ? null : value };
    } catch (e) {
      out = { ok: false, error: String((e && e.message) || e) };
    }
    process.stdout.write(JSON.stringify(out) + "\n");
  }
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
