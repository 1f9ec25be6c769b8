using StreamEnrich.Configuration;
using StreamEnrich.Stages.Cast;
using StreamEnrich.Stages.Drop;
using StreamEnrich.Stages.Filter;
using StreamEnrich.Stages.JsonSchema;
using StreamEnrich.Stages.Keep;
using StreamEnrich.Stages.Lookup;
using StreamEnrich.Stages.Rename;
using StreamEnrich.Stages.Set;
using StreamEnrich.Stages.Timestamp;

namespace StreamEnrich.Stages;

/// <summary>The stage types that ship with StreamEnrich; <see cref="StageRegistry"/> starts with these.</summary>
internal static class BuiltInStages
{
    public static IEnumerable<StageSpec> All =>
    [
        StageSpec.Create<JsonSchemaStageOptions>("json_schema",
            "Validates each message value against a JSON Schema (file or Schema Registry subject); an invalid record fails with every violation as `path: Kind`. " +
            "Parses each payload a second time, so it costs CPU per message: put it first.",
            static (o, c) => new JsonSchemaStage(o, c),
            """
            type: json_schema
            file: ../schemas/web-event.schema.json
            max_reason_length: 1000
            """),
        StageSpec.Create<RenameStageOptions>("rename", "Moves fields to new names; the old field becomes missing.",
            static (o, c) => new RenameStage(o, c),
            """
            type: rename
            fields:
              usr: user_id
              ctx.ip: client_ip
            """),
        StageSpec.Create<DropStageOptions>("drop", "Removes fields (they become missing, so the column default applies).",
            static (o, c) => new DropStage(o, c),
            """
            type: drop
            fields: [debug, raw_payload]
            """),
        StageSpec.Create<KeepStageOptions>("keep", "Keeps only the listed fields (and Kafka metadata `_...`); every other field becomes missing.",
            static (o, c) => new KeepStage(o, c),
            """
            type: keep
            fields: [user_id, event, ts]
            """),
        StageSpec.Create<SetStageOptions>("set", "Sets a field to a constant, a copy of another field, or a template such as \"{country}-{city}\".",
            static (o, c) => new SetStage(o, c),
            """
            type: set
            field: location
            template: "{country}-{city}"
            on_missing: empty
            """),
        StageSpec.Create<CastStageOptions>("cast", "Converts fields to int, float, bool, decimal(S), string, timestamp, date or uuid; a value that does not convert fails the record.",
            static (o, c) => new CastStage(o, c),
            """
            type: cast
            fields:
              price: decimal(2)
              user_id: int
              active: bool
              session: uuid
            """),
        StageSpec.Create<FilterStageOptions>("filter", "Keeps records for which a predicate is true; the others are filtered out.",
            static (o, c) => new FilterStage(o, c),
            """
            type: filter
            where: "event == 'purchase' and amount > 0 and country in ['DE', 'AT']"
            """),
        StageSpec.Create<TimestampStageOptions>("timestamp", "Parses a field into a timestamp: ISO-8601, epoch s/ms/us/ns or a pattern, with a time zone for local times.",
            static (o, c) => new TimestampStage(o, c),
            """
            type: timestamp
            field: ts
            target: event_time
            formats: [iso8601, epoch_ms, "yyyy-MM-dd HH:mm:ss"]
            timezone: Europe/Berlin
            """),
        StageSpec.Create<LookupStageOptions>("lookup", "Joins a field against a keyed table from a CSV or JSON-lines file, optionally reloaded when the file changes.",
            static (o, c) => new LookupStage(o, c),
            """
            type: lookup
            file: data/countries.csv
            key_column: code
            field: country_code
            columns:
              name: country_name
              region: region
            on_miss: default
            defaults:
              country_name: unknown
            reload: true
            reload_interval: 30s
            """),
    ];
}
