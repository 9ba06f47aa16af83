"""QGIS styles (QML) made from the registry's Style: what exports store in a GeoPackage's `layer_styles` table so the
layers open in QGIS already styled, with Persian (default) or English field aliases and legend labels; and a QGIS
project (.qgs) with all exported layers, which exports store in the same GeoPackage.

Symbol properties are written as `<prop k= v=>` elements, which every QGIS 3 release reads."""

from xml.sax.saxutils import escape, quoteattr

from layers.registry import Layer, Style


def _rgba(colour: str, opacity: float = 1.0) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(opacity * 255)}"


def _props(items: dict) -> str:
    return "".join(f"<prop k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in items.items())


def _symbol(style: Style, name: str, fill: str | None) -> str:
    if style.geometry == "line":
        props = {"line_color": _rgba(style.stroke), "line_width": style.stroke_width, "line_width_unit": "MM",
                 "line_style": "dash" if style.dashed else "solid", "capstyle": "round", "joinstyle": "round"}
        return (f'<symbol type="line" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
                f'<layer class="SimpleLine" enabled="1" locked="0" pass="0">{_props(props)}</layer></symbol>')
    if style.geometry == "point":
        props = {"color": _rgba(fill or style.stroke), "outline_color": _rgba(style.stroke), "size": "2",
                 "name": "circle"}
        return (f'<symbol type="marker" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
                f'<layer class="SimpleMarker" enabled="1" locked="0" pass="0">{_props(props)}</layer></symbol>')
    props = {
        "color": _rgba(fill, style.fill_opacity) if fill else "0,0,0,0",
        "style": "solid" if fill else "no",
        "outline_color": _rgba(style.stroke), "outline_width": style.stroke_width, "outline_width_unit": "MM",
        "outline_style": "dash" if style.dashed else "solid", "joinstyle": "bevel",
    }
    return (f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">{_props(props)}</layer></symbol>')


def class_labels(layer: Layer, classes=None) -> dict[str, tuple[str, str]]:
    """Legend labels of a categorized style; land-use labels come from the land-use table (data, not code)."""
    classes = layer.style.current_classes() if classes is None else classes
    labels = {value: (label, label_en) for value, _, label, label_en in classes}
    if layer.style.by == "land_use":
        from parcels.models import LandUse

        labels.update({lu.code: (lu.name_fa, lu.name_en) for lu in LandUse.objects.all()})
    return labels


def legend(layer: Layer, english: bool = False) -> list[dict]:
    """The legend entries of a layer (colour and label), as the portal's legend and /api/layers show them."""
    style = layer.style
    if not style.by:
        return [{"colour": style.fill or style.stroke, "label": layer.title_en if english else layer.title}]
    classes = style.current_classes()
    labels = class_labels(layer, classes)
    return [{"value": value, "colour": colour,
             "label": labels.get(value, (value, value))[1 if english else 0] or value}
            for value, colour, _, _ in classes]


def _renderer(layer: Layer, english: bool) -> str:
    style = layer.style
    if not style.by:
        return (f'<renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" enableorderby="0">'
                f'<symbols>{_symbol(style, "0", style.fill)}</symbols></renderer-v2>')
    attr = f'left("{style.by}", 1)' if style.by_prefix else style.by
    classes = style.current_classes()
    labels = class_labels(layer, classes)
    categories, symbols = [], []
    for i, (value, colour, _, _) in enumerate(classes):
        label = labels.get(value, (value, value))[1 if english else 0] or value
        categories.append(f'<category symbol="{i}" value={quoteattr(value)} label={quoteattr(label)} render="true"/>')
        symbols.append(_symbol(style, str(i), colour if style.fill else None))
    other = len(classes)  # everything else: the layer's own colours
    categories.append(f'<category symbol="{other}" value="" label={quoteattr("other" if english else "سایر")} '
                      'render="true"/>')
    symbols.append(_symbol(style, str(other), style.fill))
    return (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attr)} symbollevels="0" forceraster="0" '
            f'enableorderby="0"><categories>{"".join(categories)}</categories>'
            f'<symbols>{"".join(symbols)}</symbols>'
            f'<source-symbol>{_symbol(style, "0", style.fill)}</source-symbol></renderer-v2>')


def _aliases(layer: Layer, english: bool) -> str:
    return "<aliases>" + "".join(
        f'<alias field={quoteattr(f.name)} index="{i}" name={quoteattr(f.title_en if english else f.title)}/>'
        for i, f in enumerate(layer.fields)
    ) + "</aliases>"


def qml(layer: Layer, english: bool = False) -> str:
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="3.22.16" styleCategories="Symbology|Fields">{_renderer(layer, english)}'
            f"{_aliases(layer, english)}</qgis>\n")


GEOMETRY = {"polygon": "Polygon", "line": "Line", "point": "Point", "mixed": "Polygon"}


def project(layers: list[Layer], gpkg_name: str, srid: int, title: str) -> str:
    """A QGIS project (.qgs) with the layers of a GeoPackage named `gpkg_name`, styled, in the export's CRS, first
    layer drawn on top. QGIS resolves "./<name>" next to the GeoPackage the project is stored in."""
    from pyproj import CRS

    definition = CRS.from_epsg(srid)
    crs = (f"<spatialrefsys><wkt>{escape(definition.to_wkt())}</wkt><authid>EPSG:{srid}</authid>"
           f"<description>{escape(definition.name)}</description></spatialrefsys>")
    tree, maplayers, order = [], [], []
    for layer in layers:
        source = f"./{gpkg_name}|layername={layer.name}"
        lid = f"{layer.name}_layer"
        tree.append(f'<layer-tree-layer id="{lid}" name={quoteattr(layer.title)} source={quoteattr(source)} '
                    'providerKey="ogr" checked="Qt::Checked" expanded="1"/>')
        maplayers.append(
            f'<maplayer type="vector" geometry="{GEOMETRY[layer.style.geometry]}" styleCategories="AllStyleCategories">'
            f"<id>{lid}</id><datasource>{escape(source)}</datasource><layername>{escape(layer.title)}</layername>"
            f'<srs>{crs}</srs><provider encoding="UTF-8">ogr</provider>{_renderer(layer, False)}{_aliases(layer, False)}'
            "</maplayer>")
        order.append(f'<layer id="{lid}"/>')
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="3.22.16" projectname={quoteattr(title)}><title>{escape(title)}</title>'
            f"<projectCrs>{crs}</projectCrs>"
            '<properties><SpatialRefSys><ProjectionsEnabled type="int">1</ProjectionsEnabled></SpatialRefSys>'
            "</properties>"
            f'<layer-tree-group>{"".join(tree)}</layer-tree-group>'
            f'<projectlayers>{"".join(maplayers)}</projectlayers><layerorder>{"".join(order)}</layerorder></qgis>\n')

