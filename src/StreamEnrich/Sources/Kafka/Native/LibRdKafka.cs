using System.Runtime.InteropServices;

namespace StreamEnrich.Sources.Kafka.Native;

/// <summary>
/// The part of librdkafka's C API (rdkafka.h, Debian's librdkafka 2.0.2: librdkafka.so.1) the native consumer uses.
/// Struct layouts mirror rdkafka.h on 64-bit Linux.
/// </summary>
internal static unsafe partial class LibRdKafka
{
    private const string Lib = "librdkafka.so.1";

    internal const int Consumer = 1; // RD_KAFKA_CONSUMER
    internal const int ConfOk = 0;
    internal const long OffsetInvalid = -1001; // RD_KAFKA_OFFSET_INVALID: start from the committed offset
    internal const int ErrPartitionEof = -191; // RD_KAFKA_RESP_ERR__PARTITION_EOF
    internal const int ErrAssignPartitions = -175; // RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS
    internal const int ErrFatal = -150; // RD_KAFKA_RESP_ERR__FATAL
    internal const long OffsetBeginning = -2; // RD_KAFKA_OFFSET_BEGINNING

    /// <summary>rd_kafka_message_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Message
    {
        public int Err;
        public nint Rkt;
        public int Partition;
        public byte* Payload;
        public nuint Len;
        public byte* Key;
        public nuint KeyLen;
        public long Offset;
        public nint Private;
    }

    /// <summary>rd_kafka_topic_partition_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct TopicPartition
    {
        public byte* Topic;
        public int Partition;
        public long Offset;
        public nint Metadata;
        public nuint MetadataSize;
        public nint Opaque;
        public int Err;
        public nint Private;
    }

    /// <summary>rd_kafka_topic_partition_list_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct TopicPartitionList
    {
        public int Count;
        public int Size;
        public TopicPartition* Elems;
    }

    /// <summary>rd_kafka_metadata_partition_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MetadataPartition
    {
        public int Id;
        public int Err;
        public int Leader;
        public int ReplicaCount;
        public int* Replicas;
        public int IsrCount;
        public int* Isrs;
    }

    /// <summary>rd_kafka_metadata_topic_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MetadataTopic
    {
        public byte* Topic;
        public int PartitionCount;
        public MetadataPartition* Partitions;
        public int Err;
    }

    /// <summary>rd_kafka_metadata_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ClusterMetadata
    {
        public int BrokerCount;
        public nint Brokers;
        public int TopicCount;
        public MetadataTopic* Topics;
        public int OrigBrokerId;
        public byte* OrigBrokerName;
    }

    [LibraryImport(Lib)] internal static partial nint rd_kafka_conf_new();
    [LibraryImport(Lib)] internal static partial byte* rd_kafka_version_str();
    [LibraryImport(Lib)] internal static partial void rd_kafka_conf_destroy(nint conf);
    [LibraryImport(Lib)] internal static partial int rd_kafka_conf_set(nint conf, byte* name, byte* value, byte* errstr, nuint errstrSize);
    [LibraryImport(Lib)] internal static partial void rd_kafka_conf_set_opaque(nint conf, nint opaque);
    [LibraryImport(Lib)] internal static partial void rd_kafka_conf_set_rebalance_cb(nint conf, delegate* unmanaged<nint, int, TopicPartitionList*, nint, void> cb);
    [LibraryImport(Lib)] internal static partial void rd_kafka_conf_set_error_cb(nint conf, delegate* unmanaged<nint, int, byte*, nint, void> cb);
    [LibraryImport(Lib)] internal static partial void rd_kafka_conf_set_log_cb(nint conf, delegate* unmanaged<nint, int, byte*, byte*, void> cb);

    [LibraryImport(Lib)] internal static partial nint rd_kafka_new(int type, nint conf, byte* errstr, nuint errstrSize);
    [LibraryImport(Lib)] internal static partial void rd_kafka_destroy(nint rk);
    [LibraryImport(Lib)] internal static partial nint rd_kafka_opaque(nint rk);
    [LibraryImport(Lib)] internal static partial int rd_kafka_poll_set_consumer(nint rk);
    [LibraryImport(Lib)] internal static partial int rd_kafka_set_log_queue(nint rk, nint rkqu);
    [LibraryImport(Lib)] internal static partial nint rd_kafka_queue_get_consumer(nint rk);
    [LibraryImport(Lib)] internal static partial void rd_kafka_queue_destroy(nint rkqu);
    [LibraryImport(Lib)] internal static partial void rd_kafka_queue_yield(nint rkqu);
    [LibraryImport(Lib)] internal static partial byte* rd_kafka_err2str(int err);
    [LibraryImport(Lib)] internal static partial int rd_kafka_fatal_error(nint rk, byte* errstr, nuint errstrSize);

    [LibraryImport(Lib)] internal static partial TopicPartitionList* rd_kafka_topic_partition_list_new(int size);
    [LibraryImport(Lib)] internal static partial void rd_kafka_topic_partition_list_destroy(TopicPartitionList* list);
    [LibraryImport(Lib)] internal static partial TopicPartition* rd_kafka_topic_partition_list_add(TopicPartitionList* list, byte* topic, int partition);

    [LibraryImport(Lib)] internal static partial int rd_kafka_subscribe(nint rk, TopicPartitionList* topics);
    [LibraryImport(Lib)] internal static partial nint rd_kafka_consume_batch_queue(nint rkqu, int timeoutMs, nint* messages, nuint size);
    [LibraryImport(Lib)] internal static partial Message* rd_kafka_consumer_poll(nint rk, int timeoutMs);
    [LibraryImport(Lib)] internal static partial void rd_kafka_message_destroy(Message* message);
    [LibraryImport(Lib)] internal static partial long rd_kafka_message_timestamp(Message* message, int* type);
    [LibraryImport(Lib)] internal static partial int rd_kafka_message_headers(Message* message, nint* headers);
    [LibraryImport(Lib)] internal static partial nuint rd_kafka_header_cnt(nint headers);
    [LibraryImport(Lib)] internal static partial int rd_kafka_header_get_all(nint headers, nuint idx, byte** name, byte** value, nuint* size);
    [LibraryImport(Lib)] internal static partial byte* rd_kafka_topic_name(nint rkt);

    [LibraryImport(Lib)] internal static partial int rd_kafka_assign(nint rk, TopicPartitionList* partitions);
    [LibraryImport(Lib)] internal static partial nint rd_kafka_incremental_assign(nint rk, TopicPartitionList* partitions);
    [LibraryImport(Lib)] internal static partial nint rd_kafka_incremental_unassign(nint rk, TopicPartitionList* partitions);
    [LibraryImport(Lib)] internal static partial byte* rd_kafka_rebalance_protocol(nint rk);
    [LibraryImport(Lib)] internal static partial int rd_kafka_assignment_lost(nint rk);
    [LibraryImport(Lib)] internal static partial int rd_kafka_assignment(nint rk, TopicPartitionList** partitions);
    [LibraryImport(Lib)] internal static partial int rd_kafka_error_code(nint error);
    [LibraryImport(Lib)] internal static partial byte* rd_kafka_error_string(nint error);
    [LibraryImport(Lib)] internal static partial void rd_kafka_error_destroy(nint error);

    [LibraryImport(Lib)] internal static partial int rd_kafka_commit(nint rk, TopicPartitionList* offsets, int async);
    [LibraryImport(Lib)] internal static partial int rd_kafka_pause_partitions(nint rk, TopicPartitionList* partitions);
    [LibraryImport(Lib)] internal static partial int rd_kafka_resume_partitions(nint rk, TopicPartitionList* partitions);
    [LibraryImport(Lib)] internal static partial int rd_kafka_get_watermark_offsets(nint rk, byte* topic, int partition, long* low, long* high);
    [LibraryImport(Lib)] internal static partial int rd_kafka_offsets_for_times(nint rk, TopicPartitionList* offsets, int timeoutMs);
    [LibraryImport(Lib)] internal static partial nuint rd_kafka_queue_length(nint rkqu);
    [LibraryImport(Lib)] internal static partial int rd_kafka_consumer_close(nint rk);
    [LibraryImport(Lib)] internal static partial int rd_kafka_committed(nint rk, TopicPartitionList* partitions, int timeoutMs);
    [LibraryImport(Lib)] internal static partial nint rd_kafka_topic_new(nint rk, byte* topic, nint conf);
    [LibraryImport(Lib)] internal static partial void rd_kafka_topic_destroy(nint rkt);
    [LibraryImport(Lib)] internal static partial int rd_kafka_metadata(nint rk, int allTopics, nint onlyRkt, ClusterMetadata** metadata, int timeoutMs);
    [LibraryImport(Lib)] internal static partial void rd_kafka_metadata_destroy(ClusterMetadata* metadata);
}
