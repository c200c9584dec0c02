"""``docs/metodologia-calidad.md``: the quality methodology, in Spanish then English, generated from the code."""

from __future__ import annotations

from .methodology import (
    ADVISORY_PENALTY,
    COMPONENTS,
    FRESH_DAYS,
    MEASURES,
    STALE_DAYS,
    VERSION,
    WARNING_PENALTY,
)

__all__ = ["methodology_reference"]

_ES = f"""\
# Metodología de calidad de datos, versión {VERSION}

<!-- Generado por `ogp-federation feed docs` desde `aggregator/quality/methodology.py`; no editar a mano. -->

El agregador puntúa cada día (fecha de Chile) la calidad de los datos que publica cada comuna, de 0 a
100, para que cada equipo municipal sepa qué mejorar. El puntaje mide la **publicación**, no la gestión:
una comuna con un plan pequeño y bien publicado puede tener 100.

## Cómo se calcula

- Cuatro componentes; cada uno es el promedio simple de sus medidas que **aplican**. Una medida que no
  aplica (una comuna sin aportes ciudadanos no tiene aportes que responder) se omite; no cuenta como cero.
- El puntaje general es el promedio de los componentes que aplican, ponderado con los pesos publicados
  abajo; si un componente no aplica, los pesos de los demás se reescalan para sumar 1.
- **Qué subiría mi puntaje**: cada medida bajo 100 cuesta `peso del componente ÷ suma de pesos que
  aplican ÷ medidas que aplican en el componente × (100 − valor)` puntos del puntaje general. La API y
  `ogp-federation aggregator quality CUT` listan esas brechas de mayor a menor, con los registros,
  observaciones o consultas concretos que las causan.
- Se calcula una vez al día (04:15, hora de Chile) y se guarda como historia: un recálculo del mismo
  día con la misma versión reemplaza el valor de ese día; una versión nueva de la metodología agrega sus
  propios valores y nunca sobrescribe los antiguos, que conservan la versión con que se calcularon.
- Los días desde el último cambio y los meses con actualización se cuentan según las versiones que el
  agregador aceptó (lo que la federación vio), en hora de Chile. Una comuna que se incorporó hace menos
  de 12 meses se mide sobre los meses desde su primera versión.

## Pesos

| Componente | Peso |
|---|---|
"""

_EN = f"""\

---

# Data-quality methodology, version {VERSION} (English)

Every day (Chile's date) the aggregator scores the quality of the data each commune publishes, from 0 to
100, so that each municipal team knows what to improve. The score measures **publishing**, not
performance: a commune with a small, well-published plan can score 100.

## How it is computed

- Four components; each is the plain mean of its measures that **apply**. A measure that does not apply
  (a commune with no citizen inputs has none to answer) is left out; it does not count as zero.
- The overall score is the mean of the components that apply, weighted by the published weights below;
  when a component does not apply, the others' weights are rescaled to add up to 1.
- **What would raise my score**: each measure below 100 costs `component weight ÷ sum of the weights
  that apply ÷ measures that apply in the component × (100 − value)` points of the overall score. The
  API and `ogp-federation aggregator quality CUT` list those gaps, largest first, with the concrete
  records, findings or polls behind them.
- Computed once a day (04:15, Chile's time) and kept as history: recomputing a day by the same version
  replaces that day's value; a new version of the methodology adds its own values and never overwrites
  the old ones, which keep the version they were computed with.
- Days since the last change and months with an update count the versions the aggregator accepted (what
  the federation saw), in Chile's time. A commune that joined less than 12 months ago is measured over
  the months since its first version.

## Weights

| Component | Weight |
|---|---|
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _section(header: str, spanish: bool) -> str:
    lines = [header]
    for _code, (weight, name_es, name_en) in COMPONENTS.items():
        lines.append(f"| {name_es if spanish else name_en} | {weight:.2f} |")
    lines.append("")
    lines.append("## Medidas" if spanish else "## Measures")
    for code, (_, name_es, name_en) in COMPONENTS.items():
        lines.append("")
        lines.append(f"### {name_es if spanish else name_en}")
        for spec in (s for s in MEASURES if s.component == code):
            lines.append("")
            name = spec.name_es if spanish else spec.name_en
            lines.append(
                f"- **{_cell(name)}** (`{spec.code}`): {_cell(spec.definition_es if spanish else spec.definition_en)}"
            )
            fix = spec.fix_es if spanish else spec.fix_en
            lines.append(f"  {'Para subirla' if spanish else 'To raise it'}: {_cell(fix)}")
    lines.append("")
    if spanish:
        lines.append(
            f"Constantes de esta versión: frescura plena hasta {FRESH_DAYS} días y nula a los {STALE_DAYS}; "
            f"{WARNING_PENALTY:g} puntos por advertencia y {ADVISORY_PENALTY:g} por sugerencia, por cada 100 registros."
        )
    else:
        lines.append(
            f"This version's constants: full freshness up to {FRESH_DAYS} days and none at {STALE_DAYS}; "
            f"{WARNING_PENALTY:g} points per warning and {ADVISORY_PENALTY:g} per advisory, per 100 records."
        )
    return "\n".join(lines) + "\n"


def methodology_reference() -> str:
    """The methodology document, Spanish first, then English."""
    return _section(_ES, spanish=True) + _section(_EN, spanish=False)
