"""Score bars for the clinician: band segments and a marker, as numbers for an SVG template."""

CHART_WIDTH = 360


def score_bars(score, width=CHART_WIDTH):
    """Geometry for `score` (booking.intake.questionnaires.Score): bands and the marker position."""
    units = score.maximum + 1  # one slot per possible total, 0..maximum
    bands = []
    for index, (lowest, name) in enumerate(score.bands):
        upper = score.bands[index + 1][0] if index + 1 < len(score.bands) else units
        bands.append({"x": round(lowest / units * width, 1), "width": round((upper - lowest) / units * width, 1),
                      "name": name, "range": f"{lowest}–{upper - 1}", "index": index})
    marker = round((score.total + 0.5) / units * width, 1)
    return {"width": width, "bands": bands, "marker": marker}
