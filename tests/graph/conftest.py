from tests.fakes.graph import fake_graph, fake_graph_server

__all__ = ["fake_graph", "fake_graph_server"]
