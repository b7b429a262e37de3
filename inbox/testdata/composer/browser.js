// Drives Chromium through the inbox composer: canned replies with "/",
// files by the file button and by drag and drop, sending, downloading a
// customer's file and image previews (issue 19).
// Usage: node browser.js PLAN.json — prints one JSON result.
// PLAN: {"chromium", "url", "name", "password", "mail_conv", "sms_conv", "button_file", "art", "axe"}
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require(process.env.SWITCHBOARD_TEST_PLAYWRIGHT || "playwright-core");

// drop dispatches dragover and drop of in-page files on the composer, as
// a drag from the desktop does.
async function drop(page, files) {
  const dt = await page.evaluateHandle((files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([f.size ? new Uint8Array(f.size) : f.text], f.name, { type: f.type }));
    return dt;
  }, files);
  await page.dispatchEvent("#composer", "dragover", { dataTransfer: dt });
  await page.dispatchEvent("#composer", "drop", { dataTransfer: dt });
}

// axe records axe-core's serious and critical violations at this point
// (plan.axe: the path of axe.min.js; none given, nothing is checked).
async function axe(page, plan, out, label) {
  if (!plan.axe) return;
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(fs.readFileSync(plan.axe, "utf8"));
  const v = await page.evaluate(async () => {
    const r = await window.axe.run(document, { iframes: false, resultTypes: ["violations"] });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => v.id + " (" + v.impact + "): " + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
  });
  out.axe = out.axe || {};
  out.axe[label] = v;
}

const chips = (page) => page.$$eval("#attach-chips .attach-chip", (l) => l.map((c) => c.dataset.name));

async function openConv(page, id) {
  await page.evaluate((id) => document.dispatchEvent(new CustomEvent("sb-open-conversation", { detail: id })), id);
  await page.waitForFunction((id) => !document.getElementById("conv").hidden &&
    document.querySelector("#tl-entries") && document.querySelector("#tl-entries").children.length > 0, id, { timeout: 15000 });
}

async function run(page, plan) {
  const out = {};
  await page.goto(plan.url + "/", { waitUntil: "load" });
  await page.waitForSelector("#login-form", { state: "visible" });
  await page.fill("#login-name", plan.name);
  await page.fill("#login-password", plan.password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app", { state: "visible", timeout: 30000 });
  await openConv(page, plan.mail_conv);
  await page.waitForFunction(() => document.getElementById("cust-name").textContent === "Mia Virtanen");

  // ---- canned replies with "/" ----
  await page.click("#reply-text");
  await page.keyboard.type("Hello! /gre");
  await page.waitForSelector("#canned-list .canned-opt", { state: "visible" });
  out.canned_options = await page.$$eval("#canned-list .canned-opt", (l) => l.map((o) => o.dataset.shortcut));
  out.canned_role = await page.getAttribute("#canned-list", "role");
  const activeShortcut = () => page.evaluate(() => {
    const id = document.getElementById("reply-text").getAttribute("aria-activedescendant");
    const o = id && document.getElementById(id);
    return o && o.getAttribute("aria-selected") === "true" ? o.dataset.shortcut : "";
  });
  out.canned_active = await activeShortcut();
  await axe(page, plan, out, "the / list open");
  await page.keyboard.press("ArrowDown");
  out.canned_after_arrows = await activeShortcut();
  await page.keyboard.press("Enter");
  out.canned_text = await page.inputValue("#reply-text");
  // "/" then Escape: the list closes, the composer keeps the focus and the text.
  await page.keyboard.type(" /");
  await page.waitForSelector("#canned-list", { state: "visible" });
  await page.keyboard.press("Escape");
  out.escape_closed = await page.$eval("#canned-list", (l) => l.hidden);
  out.escape_focus = await page.evaluate(() => document.activeElement && document.activeElement.id);
  await page.keyboard.press("Backspace");
  await page.keyboard.press("Backspace");

  // ---- files: the button, then a drop ----
  await page.waitForSelector("#attach-button", { state: "visible" });
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.click("#attach-button")]);
  await chooser.setFiles(plan.button_file);
  await drop(page, [{ name: "notes.txt", type: "text/plain", text: "dropped on the composer" }, { name: "extra.csv", type: "text/csv", text: "a,b\n1,2\n" }]);
  out.chips = await chips(page);
  out.chip_sizes = await page.$$eval("#attach-chips .attach-size", (l) => l.map((s) => s.textContent));
  await drop(page, [{ name: "too-big.bin", type: "application/octet-stream", size: 10 * 1024 * 1024 + 1 }]);
  out.too_large = await page.textContent("#attach-error");
  await page.click('#attach-chips .attach-chip[data-name="extra.csv"] .attach-remove');
  out.chips_after_remove = await chips(page);
  await axe(page, plan, out, "files attached");
  await page.screenshot({ path: path.join(plan.art, "composer-files.png") });
  await page.click("#send");
  await page.waitForFunction(() => [...document.querySelectorAll("#tl-entries article")].some((a) =>
    a.textContent.includes("alice here") && a.querySelectorAll(".atts li").length === 2), null, { timeout: 15000 });
  out.sent_status = "shown";
  out.sent_attachments = await page.evaluate(() => {
    const a = [...document.querySelectorAll("#tl-entries article")].find((a) => a.textContent.includes("alice here"));
    return [...a.querySelectorAll(".atts li > a:first-of-type")].map((x) => x.textContent);
  });
  out.chips_after_send = (await chips(page)).length;

  // ---- the customer's files ----
  const link = page.locator('#tl-entries .atts a:text-is("receipt.html")');
  const [dl] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const href = await link.getAttribute("href");
  const hdr = await page.evaluate(async (href) => {
    const r = await fetch(href, { credentials: "same-origin" });
    return { d: r.headers.get("content-disposition"), n: r.headers.get("x-content-type-options"), c: r.headers.get("content-security-policy"), t: r.headers.get("content-type") };
  }, href);
  out.download = { name: dl.suggestedFilename(), content: fs.readFileSync(await dl.path(), "utf8"), disposition: hdr.d, nosniff: hdr.n, csp: hdr.c, type: hdr.t };
  await page.waitForFunction(() => [...document.querySelectorAll("img.att-thumb")].every((i) => i.complete), null, { timeout: 10000 });
  out.thumbs = await page.$$eval("img.att-thumb", (l) => l.map((i) => i.alt));
  out.thumb_width = await page.$eval("img.att-thumb", (i) => i.naturalWidth);
  const svgHref = await page.locator('#tl-entries .atts a:text-is("sketch.svg")').getAttribute("href");
  out.svg_inline_disposition = await page.evaluate(async (h) => (await fetch(h + "?inline=1")).headers.get("content-disposition"), svgHref);
  out.pwned = await page.evaluate(() => !!window.__pwned);
  await page.screenshot({ path: path.join(plan.art, "conversation-files.png") });

  // ---- managing canned replies: an agent adds a personal one ----
  await page.click("#canned-open");
  await page.waitForSelector("#canned-dialog[open]");
  out.manage_shared_box = await page.isVisible("#canned-shared");
  await axe(page, plan, out, "the canned replies dialog");
  await page.fill("#canned-shortcut", "thanks");
  await page.fill("#canned-title", "Thanks");
  await page.fill("#canned-text", "Thank you, {{customer.name}}!");
  await page.click("#canned-save");
  await page.waitForSelector('#canned-manage-list li[data-shortcut="thanks"]');
  out.manage_created = await page.$$eval("#canned-manage-list li[data-shortcut]", (l) => l.map((x) => x.dataset.shortcut));
  await page.screenshot({ path: path.join(plan.art, "canned-dialog.png") });
  await page.click("#canned-close");

  // ---- an SMS conversation: no files ----
  await openConv(page, plan.sms_conv);
  await page.waitForFunction(() => document.getElementById("attach-button").hidden);
  out.sms_button_visible = await page.isVisible("#attach-button");
  await drop(page, [{ name: "x.txt", type: "text/plain", text: "x" }]);
  out.sms_drop_note = await page.textContent("#attach-error");
  return out;
}

(async () => {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const browser = await chromium.launch({
    executablePath: plan.chromium || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const context = await browser.newContext({ locale: "en-GB", viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  let out = {};
  try {
    out = await run(page, plan);
  } catch (e) {
    out.error = String((e && e.stack) || e);
    await page.screenshot({ path: path.join(plan.art, "failure.png") }).catch(() => {});
  }
  console.log(JSON.stringify(out));
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
