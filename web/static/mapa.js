/* Map of works: markers coloured by status, filters by comuna and status, popups.
   Works with the tile server unreachable: the points sit on a plain background.
   Inside Telegram (Mini App) the popup offers to follow a work, sending the signed initData. */
(function () {
  "use strict";

  var box = document.getElementById("mapa");
  var source = document.getElementById("datos-obras");
  if (!box || !source || typeof L === "undefined") { return; }
  var works = JSON.parse(source.textContent).obras;
  var form = document.getElementById("filtros");
  var comunaSelect = document.getElementById("f-comuna");
  var statusSelect = document.getElementById("f-estado");
  var countMap = document.getElementById("conteo-mapa");
  var countList = document.getElementById("conteo-lista");
  var rows = document.querySelectorAll("#tabla-obras tbody tr");

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").trim().toLowerCase();
  }

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  // The signed launch data Telegram passes in the address (#tgWebAppData=…), kept for reloads.
  function initData() {
    var tg = window.Telegram && window.Telegram.WebApp;
    if (tg && tg.initData) { return tg.initData; }
    var fromHash = new URLSearchParams(window.location.hash.slice(1)).get("tgWebAppData");
    try {
      if (fromHash) { window.sessionStorage.setItem("tgWebAppData", fromHash); }
      return fromHash || window.sessionStorage.getItem("tgWebAppData") || "";
    } catch (e) {
      return fromHash || "";
    }
  }
  var telegramData = initData();

  var map = L.map(box, { scrollWheelZoom: false, zoomControl: true });
  L.tileLayer(box.getAttribute("data-tiles"), {
    maxZoom: 19,
    attribution: escapeHtml(box.getAttribute("data-atribucion") || "")
  }).addTo(map);
  map.attributionControl.setPrefix(false);
  var layer = L.featureGroup().addTo(map);

  function line(parent, label, value) {
    var p = document.createElement("p");
    if (label) {
      var strong = document.createElement("span");
      strong.textContent = label + ": ";
      p.appendChild(strong);
    }
    var span = document.createElement("span");
    span.textContent = value;
    span.className = "valor";
    p.appendChild(span);
    parent.appendChild(p);
    return p;
  }

  function follow(work, button, status) {
    button.disabled = true;
    status.textContent = "Enviando…";
    fetch("/api/seguir", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ init_data: telegramData, codigo: work.codigo, seguir: true })
    }).then(function (response) {
      return response.json();
    }).then(function (answer) {
      status.textContent = answer.mensaje || "Listo.";
    }).catch(function () {
      status.textContent = "No se pudo enviar. Intente de nuevo.";
    }).then(function () {
      button.disabled = false;
    });
  }

  function popup(work) {
    var div = document.createElement("div");
    div.className = "popup-obra";
    div.setAttribute("data-codigo", work.codigo);
    var title = document.createElement("h3");
    title.textContent = work.nombre;
    title.tabIndex = -1;
    div.appendChild(title);
    line(div, "", work.comuna_nombre);
    line(div, "Estado", work.estado).className = "estado";
    var progress = line(div, "Avance físico", work.avance_fisico_texto);
    progress.className = "avance";
    if (work.avance_fisico !== null) {  // not reported (SECOP): the words only, no bar
      var bar = document.createElement("span");
      bar.className = "barra";
      bar.setAttribute("aria-hidden", "true");
      var fill = document.createElement("span");
      fill.style.width = Math.max(0, Math.min(100, work.avance_fisico)) + "%";
      bar.appendChild(fill);
      progress.insertBefore(bar, progress.firstChild);
    }
    if (work.valor_texto) { line(div, "Valor del contrato", work.valor_texto).className = "valor-contrato"; }
    if (work.contratista) { line(div, "Contratista", work.contratista).className = "contratista"; }
    if (work.fecha_inicio_texto) { line(div, "Inicio", work.fecha_inicio_texto).className = "inicio"; }
    if (work.fecha_fin_texto) {
      line(div, "Fin previsto",
           work.fecha_fin_texto + (work.atrasada ? " — ⚠️ atrasada: ya pasó y no ha terminado" : "")
      ).className = work.atrasada ? "fin atrasada" : "fin";
    }
    var actions = document.createElement("p");
    actions.className = "acciones";
    if (telegramData) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = "🔔 Seguir esta obra";
      var status = document.createElement("span");
      status.setAttribute("role", "status");
      status.className = "respuesta";
      button.addEventListener("click", function () { follow(work, button, status); });
      actions.appendChild(button);
      actions.appendChild(document.createElement("br"));
      actions.appendChild(status);
    } else if (work.enlace_telegram) {
      var link = document.createElement("a");
      link.href = work.enlace_telegram;
      link.textContent = "Seguir en Telegram";
      link.rel = "noopener";
      actions.appendChild(link);
    }
    if (actions.childNodes.length) { div.appendChild(actions); }
    return div;
  }

  // Open a marker's popup and move the keyboard focus into it.
  function openAndFocus(marker) {
    marker.openPopup();
    var title = document.querySelector(".leaflet-popup .popup-obra h3");
    if (title) { title.focus({ preventScroll: true }); }
  }

  var markers = [];
  works.forEach(function (work) {
    if (work.latitud === null || work.longitud === null) { return; }
    var marker = L.circleMarker([work.latitud, work.longitud], {
      radius: 9, color: "#ffffff", weight: 2, fillColor: work.color, fillOpacity: 0.95,
      className: "obra-marker"
    });
    marker.bindPopup(function () { return popup(work); }, { maxWidth: 320, minWidth: 240 });
    marker.work = work;
    marker.on("add", function () {
      var path = marker.getElement();
      if (!path) { return; }
      path.setAttribute("data-codigo", work.codigo);
      path.setAttribute("tabindex", "0");
      path.setAttribute("role", "button");
      path.setAttribute("aria-label", work.nombre + " (" + work.estado + ")");
      path.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          openAndFocus(marker);
        }
      });
    });
    markers.push(marker);
  });

  function apply(fit) {
    var comuna = comunaSelect.value;
    var status = fold(statusSelect.value);
    var keep = function (work) {
      return (!comuna || work.comuna === comuna) && (!status || fold(work.estado) === status);
    };
    layer.clearLayers();
    var shown = markers.filter(function (m) { return keep(m.work); });
    shown.forEach(function (m) { layer.addLayer(m); });
    var listed = 0;
    rows.forEach(function (row) {
      var visible = (!comuna || row.getAttribute("data-comuna") === comuna) &&
        (!status || row.getAttribute("data-estado") === status);
      row.hidden = !visible;
      if (visible) { listed += 1; }
    });
    countMap.textContent = String(shown.length);
    countList.textContent = String(listed);
    if (fit) {
      if (shown.length) {
        map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 16 });
      } else if (!map._loaded) {
        map.setView([4.6, -74.1], 5);
      }
    }
    box.setAttribute("data-marcadores", String(shown.length));
  }

  function filtersChanged() {
    apply(true);
    var params = new URLSearchParams();
    if (comunaSelect.value) { params.set("comuna", comunaSelect.value); }
    if (statusSelect.value) { params.set("estado", statusSelect.value); }
    var query = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") +
      window.location.hash);
  }

  comunaSelect.addEventListener("change", filtersChanged);
  statusSelect.addEventListener("change", filtersChanged);
  form.addEventListener("submit", function (event) { event.preventDefault(); filtersChanged(); });

  // A "Ver en el mapa" button on each located work of the table opens its popup.
  rows.forEach(function (row) {
    var code = row.getAttribute("data-codigo");
    var marker = markers.filter(function (m) { return m.work.codigo === code; })[0];
    if (!marker) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "ver-en-mapa secundario";
    button.textContent = "Ver en el mapa";
    button.setAttribute("aria-label", "Ver en el mapa: " + marker.work.nombre);
    button.addEventListener("click", function () {
      if (!layer.hasLayer(marker)) {
        comunaSelect.value = "";
        statusSelect.value = "";
        filtersChanged();
      }
      box.scrollIntoView({ block: "center" });
      map.setView(marker.getLatLng(), Math.max(map.getZoom(), 15), { animate: false });
      openAndFocus(marker);
    });
    row.querySelector("th").appendChild(button);
  });

  apply(true);
  box.setAttribute("data-listo", "1");
})();
