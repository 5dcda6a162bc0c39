// A Kafka cluster for the tests: librdkafka's mock cluster (real Kafka protocol on 127.0.0.1 TCP ports), kept
// alive by this process and steered from stdin, so that a test in any language can use it like a real broker.
//
//   kafka-mock-cluster [--brokers N] [--topic NAME:PARTITIONS]...
//
// Prints "bootstrap <host:port,...>" once the cluster is up, then obeys one command per line:
//   down        every broker drops its connections and refuses new ones (rd_kafka_mock_broker_set_down)
//   up          they accept connections again
//   quit        (or end of input) destroys the cluster and exits
// and answers each with "ok".
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  int brokers = 1;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--brokers" && i + 1 < argc) {
      brokers = std::atoi(argv[++i]);
    } else if (arg == "--topic" && i + 1 < argc) {
      const std::string t = argv[++i];
      const size_t colon = t.find(':');
      topics.emplace_back(t.substr(0, colon), colon == std::string::npos ? 1 : std::atoi(t.c_str() + colon + 1));
    } else {
      std::fprintf(stderr, "usage: kafka-mock-cluster [--brokers N] [--topic NAME:PARTITIONS]...\n");
      return 2;
    }
  }
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "0", error, sizeof error);  // the host handle's own chatter: none
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!rk) {
    std::fprintf(stderr, "kafka-mock-cluster: %s\n", error);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    std::fprintf(stderr, "kafka-mock-cluster: could not make the mock cluster\n");
    return 1;
  }
  for (const auto& [name, partitions] : topics) {
    const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, 1);
    if (err) {
      std::fprintf(stderr, "kafka-mock-cluster: topic %s: %s\n", name.c_str(), rd_kafka_err2str(err));
      return 1;
    }
  }
  std::cout << "bootstrap " << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
    if (line == "quit") break;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (line == "down") {
      for (int b = 1; b <= brokers && !err; ++b) err = rd_kafka_mock_broker_set_down(cluster, b);
    } else if (line == "up") {
      for (int b = 1; b <= brokers && !err; ++b) err = rd_kafka_mock_broker_set_up(cluster, b);
    } else {
      std::cout << "unknown command " << line << std::endl;
      continue;
    }
    std::cout << (err ? std::string("error ") + rd_kafka_err2str(err) : std::string("ok")) << std::endl;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
