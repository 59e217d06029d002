package dev.quiver.offline.pit;

import com.google.protobuf.ByteString;
import dev.quiver.offline.ParquetSchemas;
import dev.quiver.offline.pit.PointInTimeEngine.CloseableIterator;
import dev.quiver.offline.pit.PointInTimeEngine.ViewRows;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.Stream;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * Reads a view version's committed Parquet files (as the offline sink writes them) as the rows of a
 * point-in-time join: every {@code *.parquet} under the view's directory, skipping temporaries and
 * commit records.
 */
public final class ParquetViewSource implements PointInTimeEngine.RowSource {
  private final Path dir;
  private final List<String> joinKeys;
  private final List<String> features;

  public ParquetViewSource(Path viewDir, List<String> joinKeys, List<String> features) {
    this.dir = viewDir;
    this.joinKeys = List.copyOf(joinKeys);
    this.features = List.copyOf(features);
  }

  /** Committed files, in path order. */
  public List<Path> files() throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(p -> p.getFileName().toString().endsWith(".parquet"))
          .filter(p -> !p.getFileName().toString().startsWith("."))
          .sorted()
          .toList();
    }
  }

  @Override
  public CloseableIterator<ViewRows> read() throws IOException {
    List<Path> files = files();
    return new CloseableIterator<>() {
      int file = -1;
      ParquetReader<Group> reader;
      Group next;

      private void advance() {
        try {
          while (true) {
            if (reader != null) {
              next = reader.read();
              if (next != null) {
                return;
              }
              reader.close();
              reader = null;
            }
            if (++file >= files.size()) {
              next = null;
              return;
            }
            reader = open(files.get(file));
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }

      {
        advance();
      }

      @Override
      public boolean hasNext() {
        return next != null;
      }

      @Override
      public ViewRows next() {
        if (next == null) {
          throw new NoSuchElementException();
        }
        ViewRows r = toRow(next);
        advance();
        return r;
      }

      @Override
      public void close() throws IOException {
        if (reader != null) {
          reader.close();
        }
      }
    };
  }

  private static ParquetReader<Group> open(Path file) throws IOException {
    return dev.quiver.offline.ParquetFiles.reader(file);
  }

  private ViewRows toRow(Group g) {
    List<Object> key = new ArrayList<>(joinKeys.size());
    for (String k : joinKeys) {
      Object v = valueOf(g, k);
      key.add(v instanceof Integer i ? (Object) i.longValue() : v);
    }
    long created =
        g.getFieldRepetitionCount(ParquetSchemas.CREATED_TS) == 0
            ? PointInTimeEngine.NO_CREATED
            : g.getLong(ParquetSchemas.CREATED_TS, 0);
    Object[] values = new Object[features.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = g.getType().containsField(features.get(i)) ? valueOf(g, features.get(i)) : null;
    }
    return new ViewRows(
        List.copyOf(key),
        g.getLong(ParquetSchemas.EVENT_TS, 0),
        created,
        g.getInteger(ParquetSchemas.PARTITION, 0),
        g.getLong(ParquetSchemas.OFFSET, 0),
        values);
  }

  /** A column's value in its Java form, or null. */
  public static Object valueOf(Group g, String name) {
    if (g.getFieldRepetitionCount(name) == 0) {
      return null;
    }
    Type t = g.getType().getType(name);
    if (!t.isPrimitive()) {
      Group list = g.getGroup(name, 0);
      int n = list.getFieldRepetitionCount("list");
      List<Object> out = new ArrayList<>(n);
      Type element = ((GroupType) ((GroupType) t).getType("list")).getType("element");
      for (int i = 0; i < n; i++) {
        out.add(primitive(list.getGroup("list", i), "element", element.asPrimitiveType()));
      }
      return List.copyOf(out);
    }
    return primitive(g, name, t.asPrimitiveType());
  }

  private static Object primitive(Group g, String name, PrimitiveType t) {
    LogicalTypeAnnotation logical = t.getLogicalTypeAnnotation();
    return switch (t.getPrimitiveTypeName()) {
      case BOOLEAN -> g.getBoolean(name, 0);
      case INT32 -> g.getInteger(name, 0);
      case INT64 -> {
        long v = g.getLong(name, 0);
        yield logical instanceof LogicalTypeAnnotation.TimestampLogicalTypeAnnotation
            ? dev.quiver.offline.Micros.toInstant(v)
            : (Object) v;
      }
      case FLOAT -> g.getFloat(name, 0);
      case DOUBLE -> g.getDouble(name, 0);
      case BINARY ->
          logical instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation
              ? g.getString(name, 0)
              : ByteString.copyFrom(g.getBinary(name, 0).getBytes());
      default -> throw new IllegalArgumentException("unsupported column type " + t);
    };
  }
}
