"""ImageLocalityWeigher: 1 where the image is cached; off unless its multiplier is set."""

from novactl.scheduler.scheduler import Scheduler

from .conftest import config, host, image, spec


def weigh(**cfg):
    hosts = [host("a", cached_images={"img-1"}), host("b"), host("c", cached_images={"other"})]
    return Scheduler(config(weighers=["ImageLocalityWeigher"], **cfg)).weigh_hosts(hosts, spec(image=image()))


def test_off_by_default():
    w = weigh()
    assert w.totals == [0.0, 0.0, 0.0]


def test_prefers_cached_image():
    w = weigh(image_locality_weight_multiplier=1.0)
    assert w.raw["ImageLocalityWeigher"] == [1.0, 0.0, 0.0]
    assert w.totals == [1.0, 0.0, 0.0]
