package dev.quiver.offline;

import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.semantics.Micros;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;

/**
 * Writes rows given as value arrays (one value per top-level column, null for none) straight to
 * Parquet's record consumer, without building a {@code Group} per row: the types are known up
 * front, so each value goes to its column directly.
 */
final class RowWriteSupport extends WriteSupport<Object[]> {
  private final MessageType schema;
  private final List<ValueType> types;
  private final Map<String, String> metadata;
  private final String[] names;
  private RecordConsumer out;

  RowWriteSupport(MessageType schema, List<ValueType> types, Map<String, String> metadata) {
    if (schema.getFieldCount() != types.size()) {
      throw new IllegalArgumentException(
          "schema has " + schema.getFieldCount() + " columns for " + types.size() + " types");
    }
    this.schema = schema;
    this.types = List.copyOf(types);
    this.metadata = Map.copyOf(metadata);
    this.names = new String[types.size()];
    for (int i = 0; i < names.length; i++) {
      names[i] = schema.getFieldName(i);
    }
  }

  @Override
  public WriteContext init(Configuration configuration) {
    return new WriteContext(schema, new HashMap<>(metadata));
  }

  @Override
  public void prepareForWrite(RecordConsumer recordConsumer) {
    this.out = recordConsumer;
  }

  @Override
  public void write(Object[] row) {
    out.startMessage();
    for (int i = 0; i < names.length; i++) {
      Object v = row[i];
      if (v == null) {
        continue;
      }
      ValueType type = types.get(i);
      out.startField(names[i], i);
      if (type.hasListOf()) {
        out.startGroup();
        List<?> list = (List<?>) v;
        if (!list.isEmpty()) {
          out.startField("list", 0);
          for (Object e : list) {
            out.startGroup();
            out.startField("element", 0);
            scalar(type.getListOf(), e);
            out.endField("element", 0);
            out.endGroup();
          }
          out.endField("list", 0);
        }
        out.endGroup();
      } else {
        scalar(type.getScalar(), v);
      }
      out.endField(names[i], i);
    }
    out.endMessage();
  }

  private void scalar(ScalarType t, Object v) {
    switch (t) {
      case SCALAR_TYPE_BOOL -> out.addBoolean((Boolean) v);
      case SCALAR_TYPE_INT32 -> out.addInteger(((Number) v).intValue());
      case SCALAR_TYPE_INT64 -> out.addLong(((Number) v).longValue());
      case SCALAR_TYPE_FLOAT -> out.addFloat(((Number) v).floatValue());
      case SCALAR_TYPE_DOUBLE -> out.addDouble(((Number) v).doubleValue());
      case SCALAR_TYPE_STRING ->
          out.addBinary(
              Binary.fromConstantByteArray(((String) v).getBytes(StandardCharsets.UTF_8)));
      case SCALAR_TYPE_BYTES ->
          out.addBinary(
              Binary.fromConstantByteArray(
                  v instanceof ByteString b ? b.toByteArray() : (byte[]) v));
      case SCALAR_TYPE_TIMESTAMP -> out.addLong(Micros.of((Instant) v));
      default -> throw new IllegalArgumentException("no Parquet value for " + t);
    }
  }
}
