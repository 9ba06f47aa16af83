// The versioned URL of every tile, without asking the server per tile (layers/versions.py). `state` is what
// /api/layers/tile-versions answers (the map page has it inline): a tile's ?v= is its layer's base plus, for each
// table kept per edit region that the tile draws (the overview's at its zooms, else the layer's own), the greatest of the table's base and of the versions of the edit regions (tiles at state.zoom)
// under the tile: from that zoom on, the region the tile lies in; below it, the regions inside the tile or within
// its drawing margin. An edit changes only the tiles over the regions it touched, so every other tile keeps its URL
// and stays in every cache (browser, nginx in front). tests/test_tile_versions.py holds the server to the same sum.
(function () {
  "use strict";

  function indexed(table) {  // "x,y" -> version, made once per table
    if (!table.byRegion) {
      table.byRegion = {};
      table.regions.forEach(function (r) { table.byRegion[r[0] + "," + r[1]] = r[2]; });
    }
    return table.byRegion;
  }

  function tableVersion(state, table, z, x, y) {  // the greatest of the table's base and its regions under the tile
    var zr = state.zoom, best = table.base;
    if (z >= zr) {
      var scale = Math.pow(2, z - zr);
      var v = indexed(table)[Math.floor(x / scale) + "," + Math.floor(y / scale)];
      if (v !== undefined && v > best) { best = v; }
    } else {
      var span = Math.pow(2, zr - z), m = Math.ceil(span * state.margin);
      var x0 = x * span - m, x1 = (x + 1) * span - 1 + m, y0 = y * span - m, y1 = (y + 1) * span - 1 + m;
      table.regions.forEach(function (r) {
        if (r[0] >= x0 && r[0] <= x1 && r[1] >= y0 && r[1] <= y1 && r[2] > best) { best = r[2]; }
      });
    }
    return best;
  }

  // the layer's base plus, for each table kept per region the tile draws (its low-zoom overview's at the overview's
  // zooms, else its own table), that table's part
  function tileVersion(state, name, z, x, y) {
    var layer = state.layers[name];
    if (!layer) { return 0; }
    var o = layer.overview;
    var drawn = o && z >= o.zooms[0] && z <= o.zooms[1] ? o.tables : layer.tables;
    return drawn.reduce(function (sum, t) {
      return sum + tableVersion(state, state.tables[t] || { base: 0, regions: [] }, z, x, y);
    }, layer.base);
  }

  window.TileVersions = {
    of: tileVersion,
    // For L.vectorGrid.protobuf(url with "?v={v}", {v: TileVersions.option(state, name)}): Leaflet's URL template
    // calls it with the tile's {x, y, z}.
    option: function (state, name) {
      return function (tile) { return tileVersion(state, name, tile.z, tile.x, tile.y); };
    }
  };
})();
