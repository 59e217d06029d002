package dev.quiver.online;

import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.GetOnlineFeaturesRequest;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.OnlineServingGrpc;
import dev.quiver.proto.v1.RepeatedValue;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.semantics.AsOf;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.util.Messages;
import dev.quiver.registry.util.RepeatingFailureLog;
import io.grpc.BindableService;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code OnlineServing.GetOnlineFeatures}: resolves the request against the current registry
 * version, reads every view it needs in one multi-get, and answers with a value, a status and an
 * event timestamp per requested feature and entity row.
 *
 * <p>Bad requests fail with {@code INVALID_ARGUMENT} (or {@code NOT_FOUND} for an unknown feature
 * service or feature) and a message that names the field at fault, quoting what the client sent
 * only up to a short length; a request that cannot be parsed at all is {@code INVALID_ARGUMENT}
 * too. A store that is shutting down answers {@code UNAVAILABLE} (retry elsewhere); a failure of
 * the server's own is {@code INTERNAL}, which clients do not retry.
 *
 * <p>The work of one request is bounded ({@link Limits}): each distinct entity key is read once
 * however often it repeats (repeated rows are answered from the one read); the bytes read from the
 * store and sent back are counted against a budget as they are spent, and a request that would pass
 * it fails with {@code RESOURCE_EXHAUSTED} before the memory is taken. Lookups in flight are
 * bounded in entity rows ({@link LookupAdmission}): past the bound a request is refused at once
 * with {@code RESOURCE_EXHAUSTED}. A request whose caller has gone (deadline passed or cancelled)
 * is dropped, before it starts or between its reads.
 *
 * <p>Threading: thread-safe. Small requests run on the calling (transport) thread; larger ones on
 * the executor given at construction, so the transport threads stay free to refuse or answer
 * others.
 *
 * <p>Responses are written straight from the stored bytes by {@link ResponseEncoder}: the method is
 * bound with a response marshaller that sends those bytes, so values are never parsed on the way.
 */
public final class OnlineServingService implements BindableService {
  private static final Logger LOG = LoggerFactory.getLogger(OnlineServingService.class);

  /** Default for {@link Limits#maxEntities()}. */
  public static final int DEFAULT_MAX_ENTITIES = 10_000;

  /**
   * Bounds on the work of lookups.
   *
   * @param maxEntities the most entity rows one request may carry ({@code --max-entities})
   * @param maxResponseBytes the most bytes one request may read from the store plus send back
   *     ({@code --max-response-mb})
   * @param maxInflightEntities the most entity rows of requests being served at once ({@code
   *     --max-inflight-entities}); at least {@code maxEntities}
   * @param inlineEntities requests of at most this many entity rows run on the transport thread
   */
  public record Limits(
      int maxEntities, long maxResponseBytes, int maxInflightEntities, int inlineEntities) {
    public Limits {
      if (maxEntities < 1) {
        throw new IllegalArgumentException("--max-entities must be at least 1, got " + maxEntities);
      }
      if (maxResponseBytes < 1024) {
        throw new IllegalArgumentException(
            "the response budget (--max-response-mb) must be at least 1024 bytes, got "
                + maxResponseBytes);
      }
      if (maxInflightEntities < maxEntities) {
        throw new IllegalArgumentException(
            "--max-inflight-entities ("
                + maxInflightEntities
                + ") must be at least --max-entities ("
                + maxEntities
                + "), or no request of the largest size could ever be served");
      }
      if (inlineEntities < 0) {
        throw new IllegalArgumentException("inlineEntities must not be negative");
      }
    }

    /**
     * 10,000 entity rows per request, 64 MiB per response, 4 requests of the largest size in
     * flight, requests of up to 64 rows on the transport thread.
     */
    public static Limits defaults() {
      return new Limits(DEFAULT_MAX_ENTITIES, 64L << 20, 4 * DEFAULT_MAX_ENTITIES, 64);
    }

    public Limits withMaxEntities(int max) {
      return new Limits(max, maxResponseBytes, Math.max(max, maxInflightEntities), inlineEntities);
    }

    public Limits withMaxResponseBytes(long max) {
      return new Limits(maxEntities, max, maxInflightEntities, inlineEntities);
    }

    public Limits withMaxInflightEntities(int max) {
      return new Limits(maxEntities, maxResponseBytes, max, inlineEntities);
    }

    public Limits withInlineEntities(int max) {
      return new Limits(maxEntities, maxResponseBytes, maxInflightEntities, max);
    }
  }

  private final OnlineReader store;
  private final Supplier<ServingCatalog> catalog;
  private final Clock clock;
  private final Limits limits;
  private final LookupAdmission admission;
  private final Executor executor;
  private final LookupListener listener;
  private final RepeatingFailureLog failures =
      new RepeatingFailureLog(LOG, "GetOnlineFeatures", Duration.ofMinutes(1));
  private final RepeatingFailureLog listenerFailures =
      new RepeatingFailureLog(LOG, "GetOnlineFeatures monitoring", Duration.ofMinutes(1));
  private final RepeatingFailureLog refusals =
      new RepeatingFailureLog(LOG, "GetOnlineFeatures admission", Duration.ofMinutes(1));

  /**
   * Serves every request on the calling thread, with the default limits but {@code maxEntities}.
   */
  public OnlineServingService(
      OnlineReader store, Supplier<ServingCatalog> catalog, Clock clock, int maxEntities) {
    this(store, catalog, clock, Limits.defaults().withMaxEntities(maxEntities), Runnable::run);
  }

  /**
   * @param store what the online store holds
   * @param catalog the catalog of the registry version to serve; called once per request
   * @param clock the request time, against which TTLs are checked
   * @param limits bounds on the work of lookups
   * @param executor runs requests of more than {@link Limits#inlineEntities()} rows; owned by the
   *     caller
   */
  public OnlineServingService(
      OnlineReader store,
      Supplier<ServingCatalog> catalog,
      Clock clock,
      Limits limits,
      Executor executor) {
    this(store, catalog, clock, limits, executor, LookupListener.NONE);
  }

  /**
   * As {@link #OnlineServingService(OnlineReader, Supplier, Clock, Limits, Executor)}, telling
   * {@code listener} what each answered request contained.
   */
  public OnlineServingService(
      OnlineReader store,
      Supplier<ServingCatalog> catalog,
      Clock clock,
      Limits limits,
      Executor executor,
      LookupListener listener) {
    this.listener = Objects.requireNonNull(listener, "listener");
    this.store = Objects.requireNonNull(store, "store");
    this.catalog = Objects.requireNonNull(catalog, "catalog");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.limits = Objects.requireNonNull(limits, "limits");
    this.executor = Objects.requireNonNull(executor, "executor");
    this.admission = new LookupAdmission(limits.maxInflightEntities());
  }

  public int maxEntities() {
    return limits.maxEntities();
  }

  public Limits limits() {
    return limits;
  }

  /** Entity rows of the requests being served now. */
  public int inflightEntities() {
    return admission.inFlight();
  }

  /** A request that cannot be served as sent; carries the status to answer with. */
  static final class BadRequest extends Exception {
    final Status status;

    BadRequest(Status status) {
      super(status.getDescription(), null, false, false);
      this.status = status;
    }
  }

  private static BadRequest invalid(String message) {
    return new BadRequest(Status.INVALID_ARGUMENT.withDescription(message));
  }

  @Override
  public ServerServiceDefinition bindService() {
    MethodDescriptor<GetOnlineFeaturesRequest, GetOnlineFeaturesResponse> proto =
        OnlineServingGrpc.getGetOnlineFeaturesMethod();
    MethodDescriptor<GetOnlineFeaturesRequest, EncodedResponse> method =
        proto.toBuilder(proto.getRequestMarshaller(), EncodedResponse.MARSHALLER).build();
    ServiceDescriptor service =
        ServiceDescriptor.newBuilder(OnlineServingGrpc.SERVICE_NAME)
            .setSchemaDescriptor(OnlineServingGrpc.getServiceDescriptor().getSchemaDescriptor())
            .addMethod(method)
            .build();
    return InvalidRequests.parseFailuresAsInvalidArgument(
        ServerServiceDefinition.builder(service)
            .addMethod(method, ServerCalls.asyncUnaryCall(this::getOnlineFeatures))
            .build(),
        this::refuseUnparsed);
  }

  /**
   * While no entity row can be admitted, a request is refused before it is parsed: shedding load
   * then costs the server next to nothing, so refusals stay fast however many clients push.
   */
  private Status refuseUnparsed() {
    int now = admission.inFlight();
    if (now < admission.limit()) {
      return null;
    }
    refusals.failure("refusing requests: " + now + " entity rows in flight", null);
    return overloaded(now, -1);
  }

  private Status overloaded(int inFlight, int rows) {
    return Status.RESOURCE_EXHAUSTED.withDescription(
        "the server is at its limit of "
            + admission.limit()
            + " entity rows of lookups in flight ("
            + inFlight
            + " now"
            + (rows < 0 ? "" : "; this request has " + rows)
            + "); retry after a short back-off (quiver serve --max-inflight-entities)");
  }

  private void getOnlineFeatures(
      GetOnlineFeaturesRequest request, StreamObserver<EncodedResponse> response) {
    int rows;
    try {
      rows = checkEntities(request);
    } catch (BadRequest e) {
      response.onError(e.status.asRuntimeException());
      return;
    }
    if (!admission.tryAcquire(rows)) {
      refusals.failure(
          "refusing requests: " + admission.inFlight() + " entity rows in flight", null);
      response.onError(overloaded(admission.inFlight(), rows).asRuntimeException());
      return;
    }
    Context context = Context.current();
    Runnable work =
        () -> {
          try {
            serve(request, rows, response, context);
          } finally {
            admission.release(rows);
          }
        };
    if (rows <= limits.inlineEntities()) {
      work.run();
      return;
    }
    try {
      executor.execute(work);
    } catch (RejectedExecutionException e) {
      admission.release(rows);
      response.onError(
          Status.UNAVAILABLE.withDescription("the server is shutting down").asRuntimeException());
    }
  }

  private void serve(
      GetOnlineFeaturesRequest request,
      int rows,
      StreamObserver<EncodedResponse> response,
      Context context) {
    EncodedResponse result;
    try {
      if (context.isCancelled()) {
        throw new LookupBudget.CancelledException();
      }
      result =
          encode(request, rows, new LookupBudget(limits.maxResponseBytes(), context::isCancelled));
    } catch (BadRequest e) {
      response.onError(e.status.asRuntimeException());
      return;
    } catch (LookupBudget.ExceededException e) {
      response.onError(
          Status.RESOURCE_EXHAUSTED
              .withDescription(
                  "the answer needs more than "
                      + e.limit()
                      + " bytes (read from the store plus sent back; at least "
                      + e.needed()
                      + " when stopped); ask for fewer entity rows or features, or raise quiver"
                      + " serve --max-response-mb")
              .asRuntimeException());
      return;
    } catch (LookupBudget.CancelledException e) {
      // The caller has gone; whatever is sent is not read.
      Deadline deadline = context.getDeadline();
      Status status =
          deadline != null && deadline.isExpired()
              ? Status.DEADLINE_EXCEEDED.withDescription("the deadline passed during the lookup")
              : Status.CANCELLED.withDescription("the caller cancelled the lookup");
      closeQuietly(response, status);
      return;
    } catch (StoreClosedException e) {
      response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (IOException | RuntimeException e) {
      failures.failure("reading the online store failed: " + e.getMessage(), e);
      response.onError(
          Status.INTERNAL
              .withDescription(
                  "reading the online store failed: "
                      + Messages.clip(String.valueOf(e.getMessage())))
              .asRuntimeException());
      return;
    }
    failures.success();
    refusals.success();
    try {
      response.onNext(result);
      response.onCompleted();
    } catch (StatusRuntimeException e) {
      // Cancelled while sending: nothing to do.
    }
  }

  private static void closeQuietly(StreamObserver<EncodedResponse> response, Status status) {
    try {
      response.onError(status.asRuntimeException());
    } catch (RuntimeException ignored) {
      // The call is already closed.
    }
  }

  /** The encoded entity keys of one list of join keys: each distinct key once. */
  private record Keys(List<byte[]> unique, int[] rowToUnique) {
    static Keys of(List<byte[]> encoded) {
      int rows = encoded.size();
      int[] map = new int[rows];
      if (rows == 1) {
        return new Keys(encoded, map);
      }
      Map<java.nio.ByteBuffer, Integer> seen = new HashMap<>(rows * 2);
      List<byte[]> unique = new ArrayList<>();
      for (int r = 0; r < rows; r++) {
        byte[] k = encoded.get(r);
        Integer at = seen.putIfAbsent(java.nio.ByteBuffer.wrap(k), unique.size());
        if (at == null) {
          map[r] = unique.size();
          unique.add(k);
        } else {
          map[r] = at;
        }
      }
      return new Keys(unique.size() == rows ? encoded : unique, map);
    }
  }

  /**
   * Serves one request into the response's wire form, within {@code budget}; {@code rows} is what
   * {@link #checkEntities} found when the request was admitted.
   */
  EncodedResponse encode(GetOnlineFeaturesRequest request, int rows, LookupBudget budget)
      throws BadRequest, IOException {
    ServingCatalog cat = catalog.get();
    List<ServingCatalog.ServedFeature> features = resolve(request, cat);

    // Views to read and the join key columns each needs, in first-use order.
    Map<ViewId, List<Field>> views = new LinkedHashMap<>();
    for (ServingCatalog.ServedFeature f : features) {
      views.putIfAbsent(f.view(), f.joinKeys());
    }
    Set<String> needed = new LinkedHashSet<>();
    views.values().forEach(keys -> keys.forEach(k -> needed.add(k.getName())));
    for (String column : request.getEntitiesMap().keySet()) {
      if (!needed.contains(column)) {
        throw invalid(
            "entities["
                + Messages.quote(column)
                + "]: not a join key of the requested features; they need "
                + String.join(", ", needed));
      }
    }
    Map<String, List<Object>> keyValues = new HashMap<>();
    for (List<Field> keys : views.values()) {
      for (Field k : keys) {
        if (!keyValues.containsKey(k.getName())) {
          keyValues.put(k.getName(), keyColumn(request, k, rows, views));
        }
      }
    }
    Set<String> names = new LinkedHashSet<>();
    for (ServingCatalog.ServedFeature f : features) {
      String name = request.getFullFeatureNames() ? f.fullName() : f.feature();
      if (!names.add(name)) {
        throw invalid(
            "two requested features are both named '"
                + name
                + "'; set full_feature_names to name columns view__feature");
      }
    }
    List<ViewId> viewIds = new ArrayList<>(views.keySet());
    List<Keys> keysByView = new ArrayList<>();
    Map<List<Field>, Keys> byKeys = new HashMap<>();
    for (ViewId v : viewIds) {
      keysByView.add(
          byKeys.computeIfAbsent(views.get(v), keys -> Keys.of(encodeKeys(keys, keyValues, rows))));
    }
    // One instant for every value of the request: rows, TTLs and windows as of it.
    long nowMicros = Micros.of(clock.instant());
    List<List<StoredRow>> stored =
        store.read(viewIds, keysByView.stream().map(Keys::unique).toList(), nowMicros, budget);
    Map<ViewId, Integer> viewIndex = new HashMap<>();
    List<byte[][]> timesByView = new ArrayList<>(viewIds.size());
    for (int i = 0; i < viewIds.size(); i++) {
      viewIndex.put(viewIds.get(i), i);
      List<StoredRow> viewRows = stored.get(i);
      byte[][] times = new byte[viewRows.size()][];
      for (int u = 0; u < times.length; u++) {
        StoredRow row = viewRows.get(u);
        times[u] =
            row == null
                ? ResponseEncoder.NO_TIMESTAMP
                : ResponseEncoder.timestamp(row.order().eventTimeMicros());
      }
      timesByView.add(times);
    }

    // Values by view and status, for the listener: PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE.
    int[] counts = listener == LookupListener.NONE ? null : new int[viewIds.size() * 4];
    ResponseEncoder out = new ResponseEncoder(rows);
    boolean answers = listener.wantsAnswers();
    List<ResponseEncoder.Column> columns = answers ? new ArrayList<>(features.size()) : null;
    int[] viewOf = answers ? new int[features.size()] : null;
    Iterator<String> columnNames = names.iterator();
    int featureIndex = 0;
    for (ServingCatalog.ServedFeature f : features) {
      String columnName = columnNames.next();
      budget.spend(columnName.length() + 16L);
      ResponseEncoder.Column column = out.column(columnName);
      int view = viewIndex.get(f.view());
      if (answers) {
        columns.add(column);
        viewOf[featureIndex] = view;
      }
      featureIndex++;
      List<StoredRow> viewRows = stored.get(view);
      int[] toUnique = keysByView.get(view).rowToUnique();
      byte[][] times = timesByView.get(view);
      boolean aggregate = f.aggregation() != null;
      int id = aggregate ? -1 : store.featureId(f.view(), f.feature());
      byte[][] aggregates = null;
      if (aggregate) {
        List<Value> values =
            store.aggregate(
                f.view(), f.aggregation(), keysByView.get(view).unique(), nowMicros, budget);
        aggregates = new byte[values.size()][];
        for (int u = 0; u < aggregates.length; u++) {
          Value v = values.get(u);
          aggregates[u] =
              v.getKindCase() == Value.KindCase.NULL_VALUE
                  ? ResponseEncoder.NULL_VALUE
                  : v.toByteArray();
        }
      }
      long ttl = AsOf.ttlMicros(f.ttl());
      int present = 0;
      int nulls = 0;
      int notFound = 0;
      int outside = 0;
      for (int r = 0; r < rows; r++) {
        int u = toUnique[r];
        StoredRow row = viewRows.get(u);
        if (row == null) {
          budget.spend(4);
          column.set(
              r,
              ResponseEncoder.UNSET_VALUE,
              FeatureStatus.NOT_FOUND,
              ResponseEncoder.NO_TIMESTAMP);
          notFound++;
          continue;
        }
        byte[] eventTime = times[u];
        if (aggregate) {
          // Aggregations are bounded by their window, not by the view's TTL.
          byte[] v = aggregates[u];
          budget.spend(v.length + eventTime.length + 6L);
          boolean isNull = v == ResponseEncoder.NULL_VALUE;
          column.set(r, v, isNull ? FeatureStatus.NULL_VALUE : FeatureStatus.PRESENT, eventTime);
          if (isNull) {
            nulls++;
          } else {
            present++;
          }
          continue;
        }
        if (!AsOf.usable(row.order().eventTimeMicros(), nowMicros, ttl)) {
          budget.spend(eventTime.length + 6L);
          column.set(r, ResponseEncoder.UNSET_VALUE, FeatureStatus.OUTSIDE_MAX_AGE, eventTime);
          outside++;
          continue;
        }
        int at = id < 0 ? -1 : row.indexOf(id);
        if (at < 0 || isNull(row.bytes(), row.offset(at), row.length(at))) {
          budget.spend(ResponseEncoder.NULL_VALUE.length + eventTime.length + 6L);
          column.set(r, ResponseEncoder.NULL_VALUE, FeatureStatus.NULL_VALUE, eventTime);
          nulls++;
        } else {
          budget.spend(row.length(at) + eventTime.length + 6L);
          column.set(
              r, row.bytes(), row.offset(at), row.length(at), FeatureStatus.PRESENT, eventTime);
          present++;
        }
      }
      if (counts != null) {
        counts[view * 4] += present;
        counts[view * 4 + 1] += nulls;
        counts[view * 4 + 2] += notFound;
        counts[view * 4 + 3] += outside;
      }
    }
    budget.checkpoint();
    EncodedResponse encoded = new EncodedResponse(out.encode(cat.version()));
    if (counts != null) {
      String service =
          request.getKindCase() == GetOnlineFeaturesRequest.KindCase.FEATURE_SERVICE
              ? request.getFeatureService()
              : "";
      listener.lookedUp(rows);
      for (int v = 0; v < viewIds.size(); v++) {
        listener.values(
            service,
            viewIds.get(v),
            counts[v * 4],
            counts[v * 4 + 1],
            counts[v * 4 + 2],
            counts[v * 4 + 3]);
      }
      if (answers) {
        tellAnswered(
            service,
            cat,
            nowMicros,
            rows,
            features,
            keyValues,
            columns,
            stored,
            viewOf,
            keysByView);
      }
    }
    return encoded;
  }

  /** Hands the answer to the listener; a listener's failure never fails the lookup. */
  private void tellAnswered(
      String service,
      ServingCatalog cat,
      long nowMicros,
      int rows,
      List<ServingCatalog.ServedFeature> features,
      Map<String, List<Object>> keyValues,
      List<ResponseEncoder.Column> columns,
      List<List<StoredRow>> stored,
      int[] viewOf,
      List<Keys> keysByView) {
    try {
      int[][] toUnique = new int[keysByView.size()][];
      for (int v = 0; v < toUnique.length; v++) {
        toUnique[v] = keysByView.get(v).rowToUnique();
      }
      listener.answered(
          new ServedAnswer(
              service.isEmpty() ? null : service,
              cat.version(),
              nowMicros,
              rows,
              features,
              keyValues,
              columns,
              stored,
              viewOf,
              toUnique));
      listenerFailures.success();
    } catch (RuntimeException e) {
      listenerFailures.failure("monitoring a served answer failed: " + e, e);
    }
  }

  /**
   * Whether a serialized {@code Value} holds an explicit null (or nothing): its only field is
   * {@code null_value}, which no other kind shares.
   */
  private static boolean isNull(byte[] bytes, int offset, int length) {
    if (length == 0) {
      return true;
    }
    byte[] nul = ResponseEncoder.NULL_VALUE;
    // null_value is field 30: its tag takes two bytes, unlike every other kind of value.
    return length >= 2 && bytes[offset] == nul[0] && bytes[offset + 1] == nul[1];
  }

  private static List<ServingCatalog.ServedFeature> resolve(
      GetOnlineFeaturesRequest request, ServingCatalog cat) throws BadRequest {
    switch (request.getKindCase()) {
      case FEATURE_SERVICE -> {
        String name = request.getFeatureService();
        if (name.isEmpty()) {
          throw invalid("feature_service: empty name");
        }
        return cat.service(name)
            .orElseThrow(
                () ->
                    new BadRequest(
                        Status.NOT_FOUND.withDescription(
                            "feature_service: "
                                + Messages.quote(name)
                                + " does not exist in registry version "
                                + cat.version()
                                + "; feature services: "
                                + String.join(", ", cat.serviceNames()))));
      }
      case FEATURES -> {
        List<String> refs = request.getFeatures().getFeaturesList();
        if (refs.isEmpty()) {
          throw invalid("features: no feature references; give view:feature references");
        }
        List<ServingCatalog.ServedFeature> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < refs.size(); i++) {
          String ref = refs.get(i);
          if (dev.quiver.registry.semantics.FeatureRef.parse(ref)
              .filter(r -> !r.isAll())
              .isEmpty()) {
            throw invalid(
                "features["
                    + i
                    + "]: "
                    + Messages.quote(ref)
                    + " is not a feature reference; expected view:feature");
          }
          if (!seen.add(ref)) {
            throw invalid("features[" + i + "]: " + Messages.quote(ref) + " is requested twice");
          }
          int index = i;
          out.add(
              cat.feature(ref)
                  .orElseThrow(
                      () ->
                          new BadRequest(
                              Status.NOT_FOUND.withDescription(
                                  "features["
                                      + index
                                      + "]: "
                                      + Messages.quote(ref)
                                      + " does not exist in registry version "
                                      + cat.version()))));
        }
        return out;
      }
      default ->
          throw invalid(
              "set either feature_service or features (a list of view:feature references)");
    }
  }

  private int checkEntities(GetOnlineFeaturesRequest request) throws BadRequest {
    Map<String, RepeatedValue> entities = request.getEntitiesMap();
    if (entities.isEmpty()) {
      throw invalid("entities: no entity key columns; give one column per join key");
    }
    int rows = -1;
    String first = null;
    for (Map.Entry<String, RepeatedValue> e :
        (entities.size() == 1 ? entities : new java.util.TreeMap<>(entities)).entrySet()) {
      int n = e.getValue().getValuesCount();
      if (rows < 0) {
        rows = n;
        first = e.getKey();
      } else if (n != rows) {
        throw invalid(
            "entities["
                + Messages.quote(e.getKey())
                + "]: has "
                + n
                + " values but entities["
                + Messages.quote(first)
                + "] has "
                + rows
                + "; every key column needs one value per entity row");
      }
    }
    if (rows == 0) {
      throw invalid(
          "entities[" + Messages.quote(first) + "]: no values; give at least one entity row");
    }
    if (rows > limits.maxEntities()) {
      throw invalid(
          "entities: "
              + rows
              + " entity rows exceed the limit of "
              + limits.maxEntities()
              + " per request (quiver serve --max-entities)");
    }
    return rows;
  }

  private static List<Object> keyColumn(
      GetOnlineFeaturesRequest request, Field key, int rows, Map<ViewId, List<Field>> views)
      throws BadRequest {
    RepeatedValue column = request.getEntitiesMap().get(key.getName());
    if (column == null) {
      String users =
          views.entrySet().stream()
              .filter(e -> e.getValue().contains(key))
              .map(e -> e.getKey().name())
              .distinct()
              .reduce((a, b) -> a + ", " + b)
              .orElse("");
      throw invalid(
          "entities: missing join key column '"
              + key.getName()
              + "' (needed by feature view "
              + users
              + ")");
    }
    List<Object> out = new ArrayList<>(rows);
    ScalarType type = key.getType().getScalar();
    for (int i = 0; i < rows; i++) {
      Value v = column.getValues(i);
      String at = "entities['" + key.getName() + "'][" + i + "]";
      Object k =
          switch (type) {
            case SCALAR_TYPE_STRING -> v.hasStringValue() ? v.getStringValue() : null;
            case SCALAR_TYPE_BYTES -> v.hasBytesValue() ? v.getBytesValue() : null;
            case SCALAR_TYPE_INT32, SCALAR_TYPE_INT64 -> {
              if (v.hasInt32Value()) {
                yield (long) v.getInt32Value();
              }
              if (v.hasInt64Value()) {
                long l = v.getInt64Value();
                if (type == ScalarType.SCALAR_TYPE_INT32
                    && (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE)) {
                  throw invalid(
                      at
                          + ": "
                          + l
                          + " is out of range for int32 join key '"
                          + key.getName()
                          + "'");
                }
                yield l;
              }
              yield null;
            }
            default -> null;
          };
      if (k == null) {
        throw invalid(at + ": expected " + Types.format(key.getType()) + ", got " + describe(v));
      }
      out.add(k);
    }
    return out;
  }

  private static List<byte[]> encodeKeys(
      List<Field> keys, Map<String, List<Object>> values, int rows) {
    List<byte[]> out = new ArrayList<>(rows);
    for (int r = 0; r < rows; r++) {
      List<Object> key = new ArrayList<>(keys.size());
      for (Field k : keys) {
        key.add(values.get(k.getName()).get(r));
      }
      out.add(EntityKeyCodec.encode(key));
    }
    return out;
  }

  private static String describe(Value v) {
    return switch (v.getKindCase()) {
      case KIND_NOT_SET -> "no value";
      case NULL_VALUE -> "null";
      default -> v.getKindCase().name().toLowerCase(java.util.Locale.ROOT).replace("_value", "");
    };
  }
}
