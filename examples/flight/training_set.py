"""A point-in-time-correct training set from a running `quiver serve`, over Arrow Flight.

    ./quiver quickstart                                   # in one terminal: serves until Ctrl-C
    python3 examples/flight/training_set.py grpc://localhost:8815

Needs pyarrow (pip install pyarrow); pandas only for printing.
"""
import json
import sys
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.flight as flight

location = sys.argv[1] if len(sys.argv) > 1 else "grpc://localhost:8815"
now = datetime.now(timezone.utc)

# The entity table: join keys, a timestamp per row, and any labels (they come back unchanged).
entities = pa.table({
    "card_id": ["card_0001", "card_0002", "card_0003"],
    "merchant_id": ["m_001", "m_002", "m_003"],
    "event_timestamp": pa.array(
        [now, now - timedelta(hours=1), datetime(2020, 1, 1, tzinfo=timezone.utc)],
        pa.timestamp("us", tz="UTC")),
    "label": [1, 0, 0],
})

client = flight.connect(location)
request = {"service": "fraud_model_v1"}   # or {"features": ["card_activity:last_amount", ...]}
writer, reader = client.do_exchange(
    flight.FlightDescriptor.for_command(json.dumps(request)))
writer.begin(entities.schema)
writer.write_table(entities)
writer.done_writing()
training = reader.read_all()              # one column per feature: view__feature
# Rows later than the offline store's watermark of a view (its newest committed event) are
# reported in the schema metadata; {"refuse_past_watermark": true} refuses such an export instead.
past = (training.schema.metadata or {}).get(b"quiver.past_watermark")
if past:
    print("warning: " + past.decode(), file=sys.stderr)

try:
    import pandas  # noqa: F401
    print(training.to_pandas().to_string())
except ImportError:
    print(training)
