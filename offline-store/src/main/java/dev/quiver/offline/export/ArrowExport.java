package dev.quiver.offline.export;

import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.semantics.Micros;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.TimeStampMicroTZVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Training sets as an Arrow IPC file (the random-access "Feather v2" format), in record batches.
 */
final class ArrowExport extends ExportWriter {
  private static final int BATCH = 65_536;

  private final List<Column> columns;
  private final RootAllocator allocator = new RootAllocator();
  private final VectorSchemaRoot root;
  private final FileOutputStream out;
  private final ArrowFileWriter writer;
  private int rows;
  private boolean finished;

  ArrowExport(Path target, List<Column> columns) throws IOException {
    super(target);
    this.columns = columns;
    List<Field> fields = new ArrayList<>();
    for (Column c : columns) {
      fields.add(field(c.name(), c.type()));
    }
    Files.deleteIfExists(temp);
    this.root = VectorSchemaRoot.create(new Schema(fields), allocator);
    this.out = new FileOutputStream(temp.toFile());
    this.writer = new ArrowFileWriter(root, null, out.getChannel());
    writer.start();
    root.allocateNew();
  }

  private static Field field(String name, ValueType type) {
    if (type.hasListOf()) {
      return new Field(
          name,
          FieldType.nullable(new ArrowType.List()),
          List.of(new Field("element", FieldType.notNullable(arrow(type.getListOf())), null)));
    }
    return new Field(name, FieldType.nullable(arrow(type.getScalar())), null);
  }

  private static ArrowType arrow(ScalarType t) {
    return switch (t) {
      case SCALAR_TYPE_BOOL -> ArrowType.Bool.INSTANCE;
      case SCALAR_TYPE_INT32 -> new ArrowType.Int(32, true);
      case SCALAR_TYPE_INT64 -> new ArrowType.Int(64, true);
      case SCALAR_TYPE_FLOAT -> new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
      case SCALAR_TYPE_DOUBLE -> new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
      case SCALAR_TYPE_STRING -> ArrowType.Utf8.INSTANCE;
      case SCALAR_TYPE_BYTES -> ArrowType.Binary.INSTANCE;
      case SCALAR_TYPE_TIMESTAMP -> new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC");
      default -> throw new IllegalArgumentException("no Arrow type for " + t);
    };
  }

  @Override
  void write(Object[] values) throws IOException {
    for (int i = 0; i < values.length; i++) {
      set(root.getVector(i), rows, columns.get(i).type(), values[i]);
    }
    rows++;
    if (rows == BATCH) {
      flush();
    }
  }

  private void flush() throws IOException {
    root.setRowCount(rows);
    writer.writeBatch();
    for (FieldVector v : root.getFieldVectors()) {
      v.reset();
    }
    rows = 0;
  }

  private static void set(FieldVector v, int i, ValueType type, Object value) {
    if (type.hasListOf()) {
      ListVector list = (ListVector) v;
      UnionListWriter w = list.getWriter();
      w.setPosition(i);
      if (value == null) {
        list.setNull(i);
        return;
      }
      w.startList();
      for (Object e : (List<?>) value) {
        switch (type.getListOf()) {
          case SCALAR_TYPE_BOOL -> w.bit().writeBit((Boolean) e ? 1 : 0);
          case SCALAR_TYPE_INT32 -> w.integer().writeInt(((Number) e).intValue());
          case SCALAR_TYPE_INT64 -> w.bigInt().writeBigInt(((Number) e).longValue());
          case SCALAR_TYPE_FLOAT -> w.float4().writeFloat4(((Number) e).floatValue());
          case SCALAR_TYPE_DOUBLE -> w.float8().writeFloat8(((Number) e).doubleValue());
          case SCALAR_TYPE_STRING -> w.varChar().writeVarChar((String) e);
          default ->
              throw new IllegalArgumentException(
                  "Arrow export does not write lists of " + type.getListOf() + " yet; use Parquet");
        }
      }
      w.endList();
      return;
    }
    if (value == null) {
      if (v instanceof org.apache.arrow.vector.BaseFixedWidthVector f) {
        f.setNull(i);
      } else if (v instanceof org.apache.arrow.vector.BaseVariableWidthVector b) {
        b.setNull(i);
      }
      return;
    }
    switch (type.getScalar()) {
      case SCALAR_TYPE_BOOL -> ((BitVector) v).setSafe(i, (Boolean) value ? 1 : 0);
      case SCALAR_TYPE_INT32 -> ((IntVector) v).setSafe(i, ((Number) value).intValue());
      case SCALAR_TYPE_INT64 -> ((BigIntVector) v).setSafe(i, ((Number) value).longValue());
      case SCALAR_TYPE_FLOAT -> ((Float4Vector) v).setSafe(i, ((Number) value).floatValue());
      case SCALAR_TYPE_DOUBLE -> ((Float8Vector) v).setSafe(i, ((Number) value).doubleValue());
      case SCALAR_TYPE_STRING ->
          ((VarCharVector) v).setSafe(i, ((String) value).getBytes(StandardCharsets.UTF_8));
      case SCALAR_TYPE_BYTES ->
          ((VarBinaryVector) v)
              .setSafe(i, value instanceof ByteString b ? b.toByteArray() : (byte[]) value);
      case SCALAR_TYPE_TIMESTAMP -> {
        Instant t = (Instant) value;
        ((TimeStampMicroTZVector) v).setSafe(i, Micros.of(t));
      }
      default -> throw new IllegalArgumentException("no Arrow value for " + type);
    }
  }

  @Override
  void finish() throws IOException {
    if (finished) {
      return;
    }
    finished = true;
    try {
      if (rows > 0) {
        flush();
      }
      writer.end();
    } finally {
      writer.close();
      root.close();
      allocator.close();
      out.close();
    }
  }
}
