/* Support chat: the other side's new messages appear without a reload.
 *
 * For each [data-chat] element (chat/thread.html): every 3 s while the tab is visible,
 * fetch data-poll-url?after=<last id shown> and append what comes back. Text goes in with
 * textContent, never as HTML. Errors back off (up to a minute); a refusal (403, 404, or a
 * redirect to the login page) stops polling. Loaded with defer from chat/thread.html: no
 * inline script or style, so it runs under the site's CSP (script-src 'self').
 */
(function () {
  "use strict";

  var INTERVAL = 3000;
  var MAX_DELAY = 60000;
  var STOP_STATUSES = [401, 403, 404];

  // Keep in step with the chat_author / chat_is_mine template filters.
  function authorLabel(message, viewer) {
    if (viewer === "support") {
      if (message.from_support) {
        return message.author ? message.author + " (support)" : "Support";
      }
      return message.author || "Person";
    }
    return message.from_support ? "Support" : "You";
  }

  function isMine(message, viewer) {
    return Boolean(message.from_support) === (viewer === "support");
  }

  function renderMessage(message, viewer) {
    var item = document.createElement("li");
    item.className = isMine(message, viewer) ? "chat-message mine" : "chat-message";
    item.dataset.messageId = String(message.id);
    var meta = document.createElement("span");
    meta.className = "chat-meta";
    var author = document.createElement("strong");
    author.className = "chat-author";
    author.textContent = authorLabel(message, viewer);
    var time = document.createElement("time");
    time.dateTime = String(message.iso || "");
    time.textContent = String(message.at || "");
    meta.append(author, " ", time);
    var body = document.createElement("p");
    body.className = "chat-body";
    body.textContent = String(message.body);
    item.append(meta, body);
    return item;
  }

  function follow(root) {
    var list = root.querySelector("[data-chat-messages]");
    var status = root.querySelector("[data-chat-status]");
    var viewer = root.dataset.viewer === "support" ? "support" : "person";
    var lastId = Number.parseInt(root.dataset.lastId || "0", 10) || 0;
    var delay = INTERVAL;
    var timer = null;
    var controller = null;
    var stopped = false;

    function say(text) {
      status.textContent = text;
      status.hidden = !text;
    }

    function schedule(ms) {
      window.clearTimeout(timer);
      timer = window.setTimeout(poll, ms);
    }

    function stop(text) {
      stopped = true;
      window.clearTimeout(timer);
      say(text);
    }

    function append(messages) {
      var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      messages.forEach(function (message) {
        if (typeof message.id !== "number" || message.id <= lastId) {
          return;
        }
        var empty = list.querySelector("[data-chat-empty]");
        if (empty) {
          empty.remove();
        }
        list.append(renderMessage(message, viewer));
        lastId = message.id;
      });
      root.dataset.lastId = String(lastId);
      if (atBottom) {
        list.scrollTop = list.scrollHeight;
      }
    }

    async function poll() {
      timer = null;
      if (stopped || document.hidden) {
        return;
      }
      if (controller) {
        controller.abort(); // a poll hidden mid-flight: this one replaces it
      }
      var mine = new AbortController();
      controller = mine;
      var url = new URL(root.dataset.pollUrl, window.location.href);
      url.searchParams.set("after", String(lastId));
      try {
        var response = await fetch(url, {
          credentials: "same-origin",
          cache: "no-store",
          redirect: "manual",
          headers: { Accept: "application/json" },
          signal: mine.signal,
        });
        if (response.type === "opaqueredirect" || STOP_STATUSES.includes(response.status)) {
          stop("Reload the page to keep following this conversation.");
          return;
        }
        if (!response.ok) {
          throw new Error("poll answered " + response.status);
        }
        var data = await response.json();
        append(Array.isArray(data.messages) ? data.messages : []);
        delay = INTERVAL;
        say("");
      } catch (error) {
        if (error.name === "AbortError") {
          // The tab was hidden meanwhile; it schedules the next poll when shown again.
          return;
        }
        delay = Math.min(delay * 2, MAX_DELAY);
        say("Cannot reach the server; trying again.");
      } finally {
        if (controller === mine) {
          controller = null;
        }
      }
      if (!stopped && !document.hidden) {
        // Jitter after errors, so that many open pages do not retry in step.
        schedule(delay === INTERVAL ? delay : delay * (0.8 + Math.random() * 0.4));
      }
    }

    document.addEventListener("visibilitychange", function () {
      if (stopped) {
        return;
      }
      if (document.hidden) {
        window.clearTimeout(timer);
        timer = null;
        if (controller) {
          controller.abort();
        }
      } else {
        delay = INTERVAL;
        schedule(0);
      }
    });

    list.scrollTop = list.scrollHeight;
    if (root.dataset.pollUrl) {
      schedule(INTERVAL);
    }
  }

  document.querySelectorAll("[data-chat]").forEach(follow);
})();
