package dev.quiver.offline.export;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.dataformat.csv.CsvFactory;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import dev.quiver.offline.pit.PointInTimeEngine;
import dev.quiver.offline.pit.PointInTimeEngine.CloseableIterator;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.util.Messages;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * An entity table in a CSV file with a header row: strict UTF-8 (a byte order mark is skipped),
 * every row as many fields as the header, fields in quotes may hold commas, quotes and newlines.
 * Blank lines are skipped. An error names the file, the line the row starts on and, for a bad
 * value, its row and column.
 */
final class CsvEntityTable {
  /** The most columns a header may name. */
  static final int MAX_COLUMNS = 10_000;

  /** The most characters one field may hold. */
  static final int MAX_FIELD_CHARS = 10_000_000;

  private static final CsvFactory FACTORY =
      CsvFactory.builder()
          .streamReadConstraints(
              StreamReadConstraints.builder().maxStringLength(MAX_FIELD_CHARS).build())
          .enable(CsvParser.Feature.SKIP_EMPTY_LINES)
          .build();

  private CsvEntityTable() {}

  static EntityTables.Opened open(Path file, String ts, Map<String, ScalarType> keyTypes)
      throws IOException {
    List<String> columns;
    try (Cells cells = new Cells(file)) {
      String[] header = cells.next(MAX_COLUMNS);
      if (header == null) {
        throw new IllegalArgumentException(
            file + ": the entity table is empty; expected a header row naming its columns");
      }
      if (header.length > MAX_COLUMNS) {
        throw new IllegalArgumentException(
            file
                + ":"
                + cells.line
                + ": the header has more than "
                + MAX_COLUMNS
                + " columns, the most an entity table may have");
      }
      for (int i = 0; i < header.length; i++) {
        if (header[i].isEmpty()) {
          throw new IllegalArgumentException(
              file + ":" + cells.line + ": column " + (i + 1) + " of the header has no name");
        }
      }
      columns = List.of(header);
    }
    Map<String, ValueType> passThrough = new LinkedHashMap<>();
    for (String c : columns) {
      if (!c.equals(ts) && !keyTypes.containsKey(c)) {
        passThrough.put(c, Types.of(ScalarType.SCALAR_TYPE_STRING));
      }
    }
    PointInTimeEngine.Table table =
        new PointInTimeEngine.Table() {
          @Override
          public List<String> columns() {
            return columns;
          }

          @Override
          public CloseableIterator<Object[]> rows() throws IOException {
            return new Rows(file, columns, ts, keyTypes);
          }
        };
    return new EntityTables.Opened(table, passThrough);
  }

  /** The data rows, converted: keys to their types, the timestamp to epoch microseconds. */
  private static final class Rows implements CloseableIterator<Object[]> {
    private final Path file;
    private final List<String> columns;
    private final int tsIndex;
    private final ScalarType[] keyType;
    private final Cells cells;
    private long row;
    private String[] next;
    private boolean done;

    Rows(Path file, List<String> columns, String ts, Map<String, ScalarType> keyTypes)
        throws IOException {
      this.file = file;
      this.columns = columns;
      this.tsIndex = columns.indexOf(ts);
      this.keyType = new ScalarType[columns.size()];
      for (int i = 0; i < keyType.length; i++) {
        keyType[i] = keyTypes.get(columns.get(i));
      }
      this.cells = new Cells(file);
      try {
        cells.next(MAX_COLUMNS); // the header
      } catch (IOException | RuntimeException e) {
        cells.close();
        throw e;
      }
    }

    @Override
    public boolean hasNext() {
      if (next == null && !done) {
        try {
          next = cells.next(columns.size());
        } catch (IOException e) {
          throw new UncheckedIOException(e.getMessage(), e);
        }
        done = next == null;
      }
      return next != null;
    }

    @Override
    public Object[] next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      String[] values = next;
      next = null;
      row++;
      if (values.length != columns.size()) {
        throw new IllegalArgumentException(
            file
                + ":"
                + cells.line
                + ": row "
                + row
                + " has "
                + (values.length > columns.size() ? "more than " + columns.size() : values.length)
                + (values.length == 1 ? " value" : " values")
                + " but the header names "
                + columns.size()
                + " columns");
      }
      Object[] out = new Object[values.length];
      for (int i = 0; i < values.length; i++) {
        String v = values[i];
        try {
          if (i == tsIndex) {
            out[i] = v.isEmpty() ? null : EntityTimes.ofText(v);
          } else if (keyType[i] != null) {
            out[i] = EntityTables.key(v, keyType[i]);
          } else {
            out[i] = v;
          }
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              file
                  + ":"
                  + cells.line
                  + ": row "
                  + row
                  + ", column "
                  + Messages.quote(columns.get(i))
                  + ": "
                  + e.getMessage(),
              e);
        }
      }
      return out;
    }

    @Override
    public void close() throws IOException {
      cells.close();
    }
  }

  /** The rows of a CSV file as fields of text, read one at a time with bounded memory. */
  private static final class Cells implements Closeable {
    private final Path file;
    private final CsvParser parser;

    /** The line the last row read starts on. */
    long line;

    Cells(Path file) throws IOException {
      this.file = file;
      this.parser = FACTORY.createParser(new Utf8Reader(Files.newInputStream(file), file));
      parser.setSchema(CsvSchema.emptySchema());
    }

    /**
     * The next row, or null at the end; a row of more than {@code max} fields is cut after {@code
     * max + 1} of them, without reading the rest.
     */
    String[] next(int max) throws IOException {
      try {
        JsonToken t = parser.nextToken();
        if (t == null) {
          return null;
        }
        if (t != JsonToken.START_ARRAY) {
          throw malformed("expected a row");
        }
        List<String> fields = new ArrayList<>();
        line = -1;
        while ((t = parser.nextToken()) == JsonToken.VALUE_STRING) {
          if (line < 0) {
            line = parser.currentTokenLocation().getLineNr();
          }
          fields.add(parser.getText());
          if (fields.size() > max) {
            return fields.toArray(new String[0]);
          }
        }
        if (t != JsonToken.END_ARRAY) {
          throw malformed("expected the end of a row");
        }
        return fields.toArray(new String[0]);
      } catch (Utf8Reader.BadText e) {
        throw new IllegalArgumentException(e.getMessage(), e);
      } catch (StreamConstraintsException e) {
        throw new IllegalArgumentException(
            file
                + ":"
                + location(e)
                + ": a field longer than "
                + MAX_FIELD_CHARS
                + " characters, the most one entity table field may hold");
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException(
            file + ":" + location(e) + ": malformed CSV: " + Messages.clip(e.getOriginalMessage()));
      }
    }

    private long location(JsonProcessingException e) {
      if (line > 0) {
        return line;
      }
      return e.getLocation() == null
          ? parser.currentLocation().getLineNr()
          : e.getLocation().getLineNr();
    }

    private IllegalArgumentException malformed(String what) {
      return new IllegalArgumentException(
          file + ":" + parser.currentLocation().getLineNr() + ": malformed CSV: " + what);
    }

    @Override
    public void close() throws IOException {
      parser.close();
    }
  }
}
