package dev.quiver.offline;

import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.rows.ViewShape;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OrderKey;
import java.time.Instant;
import java.util.List;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;

/**
 * The Parquet layout of a view's offline rows: join keys, {@code event_ts}, {@code created_ts},
 * {@code _partition}, {@code _offset} (the full order key, so point-in-time joins break ties as the
 * online store does), the row-level features, and {@code _agg_<name>} for each aggregation input.
 * Plain logical types throughout (STRING, TIMESTAMP in microseconds UTC, LIST), so DuckDB, Spark
 * and pandas read the files as they are.
 */
public final class ParquetSchemas {
  public static final String EVENT_TS = "event_ts";
  public static final String CREATED_TS = "created_ts";
  public static final String PARTITION = "_partition";
  public static final String OFFSET = "_offset";
  public static final String AGG_PREFIX = "_agg_";

  private ParquetSchemas() {}

  public static MessageType of(ViewShape shape) {
    Types.MessageTypeBuilder m = Types.buildMessage();
    for (Field k : shape.joinKeys()) {
      m.addField(column(k.getName(), k.getType(), Type.Repetition.REQUIRED));
    }
    m.addField(timestamp(EVENT_TS, Type.Repetition.REQUIRED));
    m.addField(timestamp(CREATED_TS, Type.Repetition.OPTIONAL));
    m.required(PrimitiveTypeName.INT32).named(PARTITION);
    m.required(PrimitiveTypeName.INT64).named(OFFSET);
    for (int i = 0; i < shape.features().size(); i++) {
      m.addField(
          column(shape.features().get(i), shape.featureTypes().get(i), Type.Repetition.OPTIONAL));
    }
    for (Aggregation a : shape.aggregations()) {
      if (a.hasInputType()) {
        m.addField(column(AGG_PREFIX + a.getName(), a.getInputType(), Type.Repetition.OPTIONAL));
      }
    }
    return m.named(shape.id().name());
  }

  private static Type timestamp(String name, Type.Repetition repetition) {
    return Types.primitive(PrimitiveTypeName.INT64, repetition)
        .as(LogicalTypeAnnotation.timestampType(true, LogicalTypeAnnotation.TimeUnit.MICROS))
        .named(name);
  }

  /** A column of a registry type. */
  public static Type column(String name, ValueType type, Type.Repetition repetition) {
    if (type.hasListOf()) {
      return Types.list(repetition)
          .element(scalar("element", type.getListOf(), Type.Repetition.REQUIRED))
          .named(name);
    }
    return scalar(name, type.getScalar(), repetition);
  }

  private static Type scalar(String name, ScalarType t, Type.Repetition r) {
    return switch (t) {
      case SCALAR_TYPE_BOOL -> Types.primitive(PrimitiveTypeName.BOOLEAN, r).named(name);
      case SCALAR_TYPE_INT32 -> Types.primitive(PrimitiveTypeName.INT32, r).named(name);
      case SCALAR_TYPE_INT64 -> Types.primitive(PrimitiveTypeName.INT64, r).named(name);
      case SCALAR_TYPE_FLOAT -> Types.primitive(PrimitiveTypeName.FLOAT, r).named(name);
      case SCALAR_TYPE_DOUBLE -> Types.primitive(PrimitiveTypeName.DOUBLE, r).named(name);
      case SCALAR_TYPE_STRING ->
          Types.primitive(PrimitiveTypeName.BINARY, r)
              .as(LogicalTypeAnnotation.stringType())
              .named(name);
      case SCALAR_TYPE_BYTES -> Types.primitive(PrimitiveTypeName.BINARY, r).named(name);
      case SCALAR_TYPE_TIMESTAMP -> timestamp(name, r);
      default -> throw new IllegalArgumentException("no Parquet type for " + t);
    };
  }

  /** One row as a Parquet record of {@link #of(ViewShape)}. */
  static Group record(SimpleGroupFactory factory, ViewRow row) {
    ViewShape shape = row.shape();
    Group g = factory.newGroup();
    List<Field> keys = shape.joinKeys();
    for (int i = 0; i < keys.size(); i++) {
      append(g, keys.get(i).getName(), keys.get(i).getType().getScalar(), row.entityKey().get(i));
    }
    OrderKey o = row.order();
    g.append(EVENT_TS, o.eventTimeMicros());
    if (o.createdTimeMicros() != OrderKey.NO_CREATED_TIME) {
      g.append(CREATED_TS, o.createdTimeMicros());
    }
    g.append(PARTITION, o.partition());
    g.append(OFFSET, o.offset());
    for (int i = 0; i < shape.features().size(); i++) {
      value(g, shape.features().get(i), shape.featureTypes().get(i), row.features()[i]);
    }
    for (int i = 0; i < shape.aggregations().size(); i++) {
      Aggregation a = shape.aggregations().get(i);
      if (a.hasInputType()) {
        value(g, AGG_PREFIX + a.getName(), a.getInputType(), row.aggregationInputs()[i]);
      }
    }
    return g;
  }

  /** Appends a value of a registry type in its Java form; nothing for null. */
  public static void value(Group g, String name, ValueType type, Object v) {
    if (v == null) {
      return;
    }
    if (type.hasListOf()) {
      Group list = g.addGroup(name);
      for (Object e : (List<?>) v) {
        append(list.addGroup("list"), "element", type.getListOf(), e);
      }
      return;
    }
    append(g, name, type.getScalar(), v);
  }

  private static void append(Group g, String name, ScalarType t, Object v) {
    switch (t) {
      case SCALAR_TYPE_BOOL -> g.append(name, (Boolean) v);
      case SCALAR_TYPE_INT32 -> g.append(name, ((Number) v).intValue());
      case SCALAR_TYPE_INT64 -> g.append(name, ((Number) v).longValue());
      case SCALAR_TYPE_FLOAT -> g.append(name, ((Number) v).floatValue());
      case SCALAR_TYPE_DOUBLE -> g.append(name, ((Number) v).doubleValue());
      case SCALAR_TYPE_STRING -> g.append(name, (String) v);
      case SCALAR_TYPE_BYTES ->
          g.append(
              name,
              Binary.fromConstantByteArray(
                  v instanceof ByteString b ? b.toByteArray() : (byte[]) v));
      case SCALAR_TYPE_TIMESTAMP -> {
        Instant i = (Instant) v;
        g.append(name, Micros.of(i));
      }
      default -> throw new IllegalArgumentException("no Parquet value for " + t);
    }
  }
}
