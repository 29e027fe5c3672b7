// gridwork console map: Leaflet with GeoJSON layers only (no tile server needed).
// Records are WGS-84; when the configured tiles are GCJ-02 (Chinese web maps), points and
// outlines are shifted for display only.
(function () {
  "use strict";
  var PI = Math.PI, A = 6378245.0, EE = 0.00669342162296594323;
  function outOfChina(lat, lon) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; }
  function tLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * PI) + 320 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    return r;
  }
  function tLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    return r;
  }
  // WGS-84 to GCJ-02 (display only).
  function toGcj(lat, lon) {
    if (outOfChina(lat, lon)) { return [lat, lon]; }
    var dLat = tLat(lon - 105.0, lat - 35.0), dLon = tLon(lon - 105.0, lat - 35.0);
    var radLat = lat / 180.0 * PI, magic = Math.sin(radLat);
    magic = 1 - EE * magic * magic;
    var sq = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sq) * PI);
    dLon = (dLon * 180.0) / (A / sq * Math.cos(radLat) * PI);
    return [lat + dLat, lon + dLon];
  }
  // GCJ-02 back to WGS-84 (display coordinates to record coordinates), to a few metres.
  function toWgs(lat, lon) {
    var g = toGcj(lat, lon);
    return [lat * 2 - g[0], lon * 2 - g[1]];
  }
  // For the browser test: the conversion checked against published reference values.
  window.gridworkCoords = { toGcj: toGcj, toWgs: toWgs };
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("map");
    if (!el || !window.L) { return; }
    var gcj = el.dataset.gcj02 === "1";
    var shift = function (latlng) { if (!gcj) { return latlng; } var p = toGcj(latlng.lat, latlng.lng); return L.latLng(p[0], p[1]); };
    var coordsToLatLng = function (c) { return shift(L.latLng(c[1], c[0])); };
    var map = L.map(el, { preferCanvas: true, zoomSnap: 0.5 }).setView([36.7, 119.15], 11);
    // The table can follow the map: a link to the records inside the current view.
    var link = document.getElementById("to-table-view");
    var viewLink = function () {
      if (!link) { return; }
      var b = map.getBounds(), sw = b.getSouthWest(), ne = b.getNorthEast();
      if (gcj) { var a = toWgs(sw.lat, sw.lng), c = toWgs(ne.lat, ne.lng); sw = L.latLng(a[0], a[1]); ne = L.latLng(c[0], c[1]); }
      var clamp = function (v, lo, hi) { return Math.min(hi, Math.max(lo, v)); };
      var box = [clamp(sw.lat, -90, 90), clamp(sw.lng, -180, 180), clamp(ne.lat, -90, 90), clamp(ne.lng, -180, 180)]
        .map(function (v) { return v.toFixed(6); }).join(",");
      var base = link.dataset.base;
      link.href = "/admin/records?" + (base ? base + "&" : "") + "bbox=" + encodeURIComponent(box);
      link.dataset.box = box;
    };
    map.on("moveend", viewLink);
    if (el.dataset.tiles) { L.tileLayer(el.dataset.tiles, { maxZoom: 19 }).addTo(map); }
    var styles = {
      district: { color: "#1f5fa8", weight: 2, fillOpacity: 0.03 },
      street: { color: "#5b8fd0", weight: 1, fillOpacity: 0.02, dashArray: "4 3" },
      community: { color: "#9bb7dc", weight: 1, fillOpacity: 0.02 },
      grid: { color: "#c9d6ea", weight: 0.5, fillOpacity: 0 }
    };
    var levels = {};
    fetch(el.dataset.outlines, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (gj) {
      ["grid", "community", "street", "district"].forEach(function (level) {
        levels[level] = L.geoJSON({ type: "FeatureCollection", features: gj.features.filter(function (f) { return f.properties.level === level; }) }, {
          coordsToLatLng: coordsToLatLng,
          style: function () { return styles[level]; },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            layer.bindPopup(esc((p.parent ? p.parent + " " : "") + p.name) + "<br><a href=\"/admin/records?org=" + encodeURIComponent(p.code) + "\">查看该区域的记录</a>");
          }
        });
      });
      levels.district.addTo(map); levels.street.addTo(map);
      var zoomed = function () {
        var z = map.getZoom();
        [["community", 13], ["grid", 15]].forEach(function (lz) {
          var layer = levels[lz[0]];
          if (z >= lz[1]) { if (!map.hasLayer(layer)) { layer.addTo(map); layer.bringToBack(); } } else if (map.hasLayer(layer)) { map.removeLayer(layer); }
        });
      };
      map.on("zoomend", zoomed); zoomed();
      el.dataset.outlinesShown = "1";
    });
    fetch(el.dataset.points, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (gj) {
      var layer = L.geoJSON(gj, {
        coordsToLatLng: coordsToLatLng,
        pointToLayer: function (f, latlng) { return L.circleMarker(latlng, { radius: 6, color: "#fff", weight: 1, fillColor: f.properties.colour, fillOpacity: 0.9 }); },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindPopup("<a href=\"/admin/records/" + encodeURIComponent(p.id) + "\">" + esc(p.kind + " " + p.number) + "</a><br>" + esc(p.status) + "<br>" + esc(p.text));
        }
      }).addTo(map);
      var n = gj.features.length;
      document.getElementById("map-count").textContent = "地图上 " + n + " 个点" + (gj.truncated ? "（已截断）" : "");
      var box = (el.dataset.bbox || "").split(",").map(Number);
      if (box.length === 4 && box.every(isFinite)) {
        var sw = shift(L.latLng(box[0], box[1])), ne = shift(L.latLng(box[2], box[3]));
        map.fitBounds(L.latLngBounds(sw, ne), { animate: false });
      } else if (n > 0) { map.fitBounds(layer.getBounds().pad(0.2), { maxZoom: 15, animate: false }); }
      el.dataset.loaded = String(n);
      viewLink();
    });
  });
})();
