namespace StreamEnrich.Sources.Kafka;

/// <summary>The Kafka source stopped for a reason that retrying will not fix (fatal client error, authentication...).</summary>
public sealed class KafkaSourceException : Exception
{
    public KafkaSourceException() { }
    public KafkaSourceException(string message) : base(message) { }
    public KafkaSourceException(string message, Exception inner) : base(message, inner) { }
}
