// Flagbot playground page: renders the server's state (HTML made by the Go
// Block Kit renderer) and forwards what the visitor does. No framework, no
// build step.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const channel = document.body.dataset.channel;
  const acting = $("#acting-as");
  const status = $("#status");
  const last = { modal: null, home: null, ld: null };
  let source = null;

  function user() { return acting.value; }

  async function post(path, body) {
    const resp = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Playground": "1" },
      body: JSON.stringify(Object.assign({ user: user() }, body)),
    });
    if (!resp.ok) {
      const text = await resp.text();
      console.warn("playground:", path, resp.status, text);
      return null;
    }
    return resp.json();
  }

  // --- live state ---------------------------------------------------------

  function connect() {
    if (source) source.close();
    for (const id of ["messages", "dm"]) $("#" + id).replaceChildren();
    last.modal = last.home = null;
    source = new EventSource("/events?user=" + encodeURIComponent(user()));
    source.addEventListener("state", (e) => apply(JSON.parse(e.data)));
    source.onerror = () => { status.textContent = "reconnecting…"; status.className = "status down"; };
  }

  function fragment(html) {
    const t = document.createElement("template");
    t.innerHTML = html;
    return t.content.firstElementChild;
  }

  // diffList updates a list keyed by data-message-key: new items are
  // appended, changed ones replaced in place, gone ones removed.
  function diffList(list, items) {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const keep = new Set(items.map((i) => i.key));
    for (const li of Array.from(list.children)) {
      if (!keep.has(li.dataset.messageKey)) li.remove();
    }
    let added = false;
    items.forEach((it, idx) => {
      const cur = list.children[idx];
      if (cur && cur.dataset.messageKey === it.key) {
        if (cur.dataset.html !== it.html) {
          const el = fragment(it.html);
          el.dataset.html = it.html;
          cur.replaceWith(el);
        }
        return;
      }
      const el = fragment(it.html);
      el.dataset.html = it.html;
      list.insertBefore(el, cur || null);
      added = true;
    });
    if (added || atBottom) list.scrollTop = list.scrollHeight;
  }

  function apply(st) {
    status.textContent = st.connected ? "Flagbot connected" : "Flagbot connecting…";
    status.className = "status " + (st.connected ? "up" : "down");
    diffList($("#messages"), st.channel || []);
    diffList($("#dm"), st.dm || []);
    if (st.ld !== last.ld) {
      const panel = $("#ld-panel");
      const before = new Map();
      panel.querySelectorAll("td[data-env]").forEach((td) => before.set(cellKey(td), td.textContent));
      panel.innerHTML = st.ld;
      panel.querySelectorAll("td[data-env]").forEach((td) => {
        const was = before.get(cellKey(td));
        if (was !== undefined && was !== td.textContent) td.classList.add("flash");
      });
      showProject();
      last.ld = st.ld;
    }
    if (st.home !== last.home) {
      $("#home").innerHTML = st.home || '<p class="empty">Flagbot has not published a Home tab.</p>';
      last.home = st.home;
    }
    if (st.modal !== last.modal) {
      showModal(st.modal);
      last.modal = st.modal;
    }
  }

  function cellKey(td) {
    const tr = td.closest("tr");
    const sec = td.closest("[data-project]");
    return (sec ? sec.dataset.project : "") + "/" + (tr ? tr.dataset.flag : "") + "/" + td.dataset.env;
  }

  function showProject() {
    const p = $("#ld-project").value;
    document.querySelectorAll("#ld-panel .ld-project").forEach((s) => { s.hidden = s.dataset.project !== p; });
  }

  // --- modals -------------------------------------------------------------

  function showModal(html) {
    const root = $("#modal-root");
    const hadFocus = document.activeElement && root.contains(document.activeElement) ? document.activeElement.id : null;
    if (!html) { root.replaceChildren(); return; }
    const backdrop = document.createElement("div");
    backdrop.className = "backdrop";
    backdrop.innerHTML = html;
    root.replaceChildren(backdrop);
    const modal = $(".sk-modal", root);
    const again = hadFocus && document.getElementById(hadFocus);
    const first = again || $("[aria-invalid=true]", modal) || $("[data-input]", modal) || $("button", modal);
    if (first) first.focus();
    $("form", modal).addEventListener("submit", (e) => { e.preventDefault(); submitModal(modal); });
  }

  function modalValues(modal) {
    const values = {};
    modal.querySelectorAll("[data-input]").forEach((el) => {
      const b = el.dataset.blockId, a = el.dataset.actionId;
      values[b] = values[b] || {};
      values[b][a] = el.classList.contains("sk-external") ? (el.dataset.value || "") : el.value;
    });
    return values;
  }

  // An input with dispatch_action tells the bot it changed, with the
  // modal's values, as Slack sends block_actions with the view's state.
  async function dispatchInput(el, value, text) {
    const modal = el.closest(".sk-modal");
    if (!modal) return;
    await post("/api/click", { view_id: modal.dataset.viewId, block_id: el.dataset.blockId, action_id: el.dataset.actionId,
      value: value, option_text: text || "", values: modalValues(modal) });
  }

  async function submitModal(modal) {
    clearTimeout(typedTimer); // a submission says it all
    const values = modalValues(modal);
    const btn = $("[data-modal-submit]", modal);
    if (btn) btn.disabled = true;
    await post("/api/submit", { view_id: modal.dataset.viewId, values: values });
    if (btn) btn.disabled = false;
  }

  function confirmFirst(tpl) {
    return new Promise((resolve) => {
      const root = $("#confirm-root");
      const backdrop = document.createElement("div");
      backdrop.className = "backdrop";
      const box = document.createElement("div");
      box.className = "confirm";
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-modal", "true");
      box.appendChild(tpl.content.cloneNode(true));
      const title = $(".sk-modal-title", box);
      if (title) { title.id = "confirm-title"; box.setAttribute("aria-labelledby", "confirm-title"); }
      backdrop.appendChild(box);
      root.replaceChildren(backdrop);
      const done = (ok) => { root.replaceChildren(); resolve(ok); };
      $("[data-confirm]", box).addEventListener("click", () => done(true));
      $("[data-deny]", box).addEventListener("click", () => done(false));
      box.addEventListener("keydown", (e) => { if (e.key === "Escape") done(false); });
      $("[data-confirm]", box).focus();
    });
  }

  function container(el) {
    const msg = el.closest("[data-message-key]");
    if (msg) return { message_key: msg.dataset.messageKey };
    const view = el.closest("[data-view-id]");
    return view ? { view_id: view.dataset.viewId } : null;
  }

  // --- clicks, selects, type-ahead ------------------------------------------

  document.addEventListener("click", async (e) => {
    const conv = e.target.closest(".conv");
    if (conv) { selectPane(conv.dataset.pane); return; }
    const tab = e.target.closest("[data-tab]");
    if (tab) { selectTab(tab.dataset.tab); return; }
    const close = e.target.closest("[data-modal-close]");
    if (close) {
      const modal = close.closest(".sk-modal");
      await post("/api/close", { view_id: modal.dataset.viewId });
      return;
    }
    const btn = e.target.closest("button[data-action-id]");
    if (!btn) return;
    const where = container(btn);
    if (!where) return;
    const tpl = btn.nextElementSibling;
    if (tpl && tpl.matches("template.sk-confirm") && !(await confirmFirst(tpl))) return;
    if (btn.dataset.url) window.open(btn.dataset.url, "_blank", "noopener");
    await post("/api/click", Object.assign({ block_id: btn.dataset.blockId, action_id: btn.dataset.actionId }, where));
  });

  document.addEventListener("change", async (e) => {
    const sel = e.target;
    if (sel === acting) { connect(); return; }
    if (sel.matches("select[data-input][data-dispatch]") && sel.value) {
      await dispatchInput(sel, sel.value, sel.options[sel.selectedIndex].text);
      return;
    }
    if (sel.id === "ld-project") { showProject(); return; }
    if (!sel.matches("select[data-action-id]:not([data-input])") || !sel.value) return;
    const where = container(sel);
    const opt = sel.options[sel.selectedIndex];
    const tpl = sel.nextElementSibling;
    if (tpl && tpl.matches("template.sk-confirm") && !(await confirmFirst(tpl))) { sel.value = ""; return; }
    await post("/api/click", Object.assign({ block_id: sel.dataset.blockId, action_id: sel.dataset.actionId, value: sel.value, option_text: opt.text }, where));
    sel.value = "";
  });

  let suggestTimer = null, typedTimer = null;
  document.addEventListener("input", (e) => {
    const box = e.target;
    if (box.matches("input.sk-textbox[data-dispatch]")) {
      clearTimeout(typedTimer);
      typedTimer = setTimeout(() => dispatchInput(box, box.value), 400);
      return;
    }
    if (!box.matches("input.sk-external")) return;
    box.dataset.value = "";
    clearTimeout(suggestTimer);
    const min = parseInt(box.dataset.minQueryLength || "3", 10);
    if (box.value.length < min) { closeSuggestions(); return; }
    suggestTimer = setTimeout(() => suggest(box), 200);
  });

  function closeSuggestions() { document.querySelectorAll(".suggestions").forEach((l) => l.remove()); }

  async function suggest(box) {
    const where = container(box);
    const ans = await post("/api/suggest", Object.assign({ block_id: box.dataset.blockId, action_id: box.dataset.actionId, value: box.value }, where));
    closeSuggestions();
    let opts = (ans && ans.options) || [];
    if (ans && ans.option_groups) ans.option_groups.forEach((g) => { opts = opts.concat(g.options || []); });
    if (!opts.length) return;
    const list = document.createElement("ul");
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    const r = box.getBoundingClientRect();
    list.style.left = r.left + window.scrollX + "px";
    list.style.top = r.bottom + window.scrollY + "px";
    list.style.minWidth = r.width + "px";
    opts.forEach((o) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.textContent = (o.text && o.text.text) || o.value;
      li.addEventListener("mousedown", async (ev) => {
        ev.preventDefault();
        closeSuggestions();
        box.value = li.textContent;
        box.dataset.value = o.value;
        if (box.hasAttribute("data-dispatch")) {
          await dispatchInput(box, o.value, li.textContent);
        } else if (!box.hasAttribute("data-input")) {
          await post("/api/click", Object.assign({ block_id: box.dataset.blockId, action_id: box.dataset.actionId, value: o.value, option_text: li.textContent }, where));
        }
      });
      list.appendChild(li);
    });
    document.body.appendChild(list);
  }

  document.addEventListener("keydown", async (e) => {
    if (e.key === "Escape") {
      const modal = $("#modal-root .sk-modal");
      if (modal && !$("#confirm-root .confirm")) await post("/api/close", { view_id: modal.dataset.viewId });
    }
  });

  // --- panes ----------------------------------------------------------------

  function selectPane(name) {
    document.querySelectorAll(".conv").forEach((b) => b.classList.toggle("active", b.dataset.pane === name));
    $("#pane-channel").hidden = name !== "channel";
    $("#pane-app").hidden = name !== "app";
  }

  function selectTab(name) {
    document.querySelectorAll("[data-tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
    $("#dm").hidden = name !== "messages";
    $("#home").hidden = name !== "home";
    if (name === "home") post("/api/home", {});
  }

  // --- the message box --------------------------------------------------------

  const box = $("#message");
  async function send() {
    const text = box.value.trim();
    if (!text) return;
    box.value = "";
    // Some key event sources insert the Enter after the handler ran.
    setTimeout(() => { if (!box.value.trim()) box.value = ""; }, 0);
    await post("/api/compose", { text: text, channel: channel });
  }
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  $("#composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });

  connect();
})();
