// Drives a real browser through pages that embed the Switchboard web form.
// Usage: node submit.js PLAN.json  — prints one JSON result per scenario.
//
// PLAN: {"chromium": "/usr/bin/chromium", "scenarios": [{
//   "name": "...", "url": "http://127.0.0.1:PORT/",       page embedding embed.js
//   "fill": {"field": "value"}, "select": {"field": "option"}, "check": ["field"],
//   "wait_ms": 3000,                                        time a person takes (from when the form shows)
//   "raw_post": {"url": "...", "body": "a=b&c=d"},          a no-cors form POST from the page (a simple request)
//   "screenshot_filled": "/path/filled.png",               before submitting
//   "screenshot": "/path/shot.png"}]}                       after
// Result: {"name", "form": bool, "thanks", "status", "field_errors", "dialogs", "images_in_form", "labels", "raw_post"}.
"use strict";
const fs = require("fs");
const path = process.env.SWITCHBOARD_TEST_PLAYWRIGHT || "playwright-core";
const { chromium } = require(path);

async function run(browser, sc) {
  const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
  const page = await context.newPage();
  const out = { name: sc.name, form: false, thanks: "", status: "", field_errors: [], dialogs: [], console: [] };
  page.on("dialog", async (d) => { out.dialogs.push(d.message()); await d.dismiss(); });
  page.on("console", (m) => { if (m.type() === "error") out.console.push(m.text()); });
  try {
    await page.goto(sc.url, { waitUntil: "load" });
    const form = page.locator("form[data-switchboard-form]");
    await form.waitFor({ timeout: 10000 });
    out.form = true;
    const started = Date.now();
    for (const [name, value] of Object.entries(sc.fill || {})) await form.locator(`[name="${name}"]`).fill(value);
    for (const [name, value] of Object.entries(sc.select || {})) await form.locator(`select[name="${name}"]`).selectOption(value);
    for (const name of sc.check || []) await form.locator(`[name="${name}"]`).check();
    out.labels = await form.locator("label").allTextContents();
    out.images_in_form = await form.locator("img").count();
    const left = (sc.wait_ms || 0) - (Date.now() - started);
    if (left > 0) await page.waitForTimeout(left);
    if (sc.screenshot_filled) await page.screenshot({ path: sc.screenshot_filled, fullPage: true });
    await form.locator("button[type=submit]").click();
    await page.waitForFunction(() => {
      const t = document.querySelector(".sb-thanks");
      const s = document.querySelector(".sb-status");
      return (t && t.textContent) || (s && s.textContent);
    }, null, { timeout: 15000 });
    out.thanks = (await page.locator(".sb-thanks").allTextContents()).join(" ");
    out.status = (await page.locator(".sb-status").allTextContents()).join(" ");
    out.field_errors = (await page.locator(".sb-error").allTextContents()).filter((t) => t);
    if (sc.raw_post) {
      out.raw_post = await page.evaluate(async (p) => {
        try {
          const r = await fetch(p.url, { method: "POST", mode: "no-cors", body: new URLSearchParams(p.body) });
          return r.type;
        } catch (e) {
          return "error: " + e.message;
        }
      }, sc.raw_post);
    }
    if (sc.screenshot) await page.screenshot({ path: sc.screenshot, fullPage: true });
  } catch (e) {
    out.error = String(e && e.message || e);
    if (sc.screenshot) await page.screenshot({ path: sc.screenshot, fullPage: true }).catch(() => {});
  }
  await context.close();
  return out;
}

(async () => {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const browser = await chromium.launch({
    executablePath: plan.chromium || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    for (const sc of plan.scenarios) console.log(JSON.stringify(await run(browser, sc)));
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
