"""Free-text search latency over 10,000 generated goals, works and budget offices.

    python -m bench.search [--items 10000] [--queries 500]

Prints index build time, median and p99 milliseconds per query (target p99 < 20 ms).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from storage.search import Record, SearchIndex

THINGS = ["parque", "colegio", "polideportivo", "salón comunal", "puente", "andenes",
          "alumbrado", "ciclorruta", "centro de salud", "plaza de mercado", "muro de contención",
          "canalización", "biblioteca", "CDI", "vía", "escuela rural"]
ACTIONS = ["Construcción de", "Mejoramiento de", "Rehabilitación de", "Pavimentación de",
           "Mantenimiento de", "Adecuación de", "Modernización de"]
PLACES = ["Kennedy", "Café Madrid", "La Joya", "Girardot", "San Alonso", "Provenza", "Mutis",
          "Morrorico", "Cabecera", "Real de Minas", "La Concordia", "El Prado", "Álvarez",
          "Campo Hermoso", "Villa Rosa", "San Francisco", "Lagos del Cacique", "Fontana"]
OFFICES = ["Secretaría de Educación", "Secretaría de Hacienda", "Secretaría de Infraestructura",
           "Secretaría de Salud y Ambiente", "INDERBU", "IMEBU", "Secretaría del Interior"]
QUERIES = ["como va el parke de la joya", "colegio de kennedy", "plata de hacienda",
           "puente en provenza", "arreglo de la cll 45", "obras en la comuna cuatro",
           "meta de arboles", "receta de arepa", "precio del dolar", "alumbrado san alonso"]


def generate(items: int, seed: int = 7) -> list[Record]:
    """Return `items` realistic-looking records (a third each of goals, works, offices)."""
    rng = random.Random(seed)
    records = []
    for i in range(items):
        thing, place = rng.choice(THINGS), rng.choice(PLACES)
        kind = ("meta", "obra", "presupuesto")[i % 3]
        title = (f"{rng.choice(ACTIONS)} {thing} del barrio {place}" if kind != "presupuesto"
                 else f"{rng.choice(OFFICES)} — rubro {i}")
        records.append(Record(kind, f"K{i}", title, [
            (title, 3.0), (f"Calle {rng.randint(1, 120)} con Carrera {rng.randint(1, 40)}", 1.5),
            (rng.choice(OFFICES), 0.7)], comuna=str(rng.randint(1, 17))))
    return records


def main() -> None:
    """Build the index and time the queries."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    started = time.perf_counter()
    index = SearchIndex(generate(args.items), {p: str(i % 17 + 1) for i, p in enumerate(PLACES)})
    build = time.perf_counter() - started
    timings = []
    for i in range(args.queries):
        query = QUERIES[i % len(QUERIES)]
        t0 = time.perf_counter()
        index.search(query)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(f"free-text search over {args.items:,} items, {args.queries} queries")
    print(f"  index build          {build:8.2f} s")
    print(f"  median               {statistics.median(timings):8.2f} ms")
    print(f"  p99                  {p99:8.2f} ms   (target < 20 ms)")


if __name__ == "__main__":
    main()
