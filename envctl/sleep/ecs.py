"""ECS services to zero tasks and back: the most asked-for sleep target after instances.

A service's desired count goes to 0. Where Application Auto Scaling manages the service (a scalable target of
``ecs:service:DesiredCount``), its minimum and maximum go to 0 first, or the scaler would start tasks again
(the design of aws-solutions/instance-scheduler-on-aws#702). What was there is written before anything changes:
``desired=3 min=1 max=4`` in the ``envctl:sleep:size`` tag of the service and in the state; wake restores the
scaler's bounds, then the desired count, and waits until the service is stable.
"""

from __future__ import annotations

from typing import Any

from envctl.sleep.records import Pass
from envctl.sleep.targets import (
    ECS_DIMENSION,
    TAG_SIZE,
    ClientFactory,
    Service,
    ServiceSizes,
    env_services,
)


def _recorded(run: Pass, service: Service, section: str = "ecs") -> ServiceSizes | None:
    return ServiceSizes.parse(service.tags.get(TAG_SIZE, "")) or \
        ServiceSizes.from_dict(run.previous[section].get(service.key))


def sleep_services(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    services = list(env_services(factory, region, env))
    if not services:
        return
    ecs, scaling = factory("ecs", region), factory("application-autoscaling", region)
    for service in services:
        run.guard(f"ecs service {service.key}", _sleep_service, run, ecs, scaling, service)


def _sleep_service(run: Pass, ecs: Any, scaling: Any, service: Service) -> None:
    sizes = service.sizes
    # asleep, or half asleep (a sleep stopped between its calls): what was recorded before stands
    before = _recorded(run, service) if sizes.touched else sizes
    if before is None:
        if sizes.asleep:
            return  # at zero, and not by envctl
        before = sizes
    run.data["ecs"][service.key] = before.to_dict()
    if service.tags.get(TAG_SIZE) != before.tag_value():
        run.remember()
        ecs.tag_resource(resourceArn=service.arn, tags=[{"key": TAG_SIZE, "value": before.tag_value()}])
    if sizes.asleep:
        return
    run.remember()
    if sizes.scaled and (sizes.min, sizes.max) != (0, 0):
        scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=service.resource_id,
                                         ScalableDimension=ECS_DIMENSION, MinCapacity=0, MaxCapacity=0)
    ecs.update_service(cluster=service.cluster, service=service.name, desiredCount=0)
    run.actions.append(f"ecs service {service.key}: {sizes} -> {ServiceSizes(0, *((0, 0) if sizes.scaled else ()))}")
    run.wait(service.tags, f"ecs service {service.key}", "stable at 0 tasks", "ecs", "ServicesStable",
             cluster=service.cluster, services=[service.name])


def wake_services(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    services = list(env_services(factory, region, env))
    seen = {s.key for s in services}
    if services:
        ecs, scaling = factory("ecs", region), factory("application-autoscaling", region)
        for service in services:
            run.guard(f"ecs service {service.key}", _wake_service, run, ecs, scaling, service)
    for key in [k for k in run.data["ecs"] if k not in seen]:
        run.actions.append(f"ecs service {key}: no longer exists; forgot its size")
        run.data["ecs"].pop(key, None)


def _wake_service(run: Pass, ecs: Any, scaling: Any, service: Service) -> None:
    before = ServiceSizes.parse(service.tags.get(TAG_SIZE, "")) or \
        ServiceSizes.from_dict(run.data["ecs"].get(service.key))
    sizes = service.sizes
    if before is not None and sizes != _as_registered(before, sizes):
        if before.scaled and sizes.scaled and (sizes.min, sizes.max) != (before.min, before.max):
            scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=service.resource_id,
                                             ScalableDimension=ECS_DIMENSION, MinCapacity=before.min,
                                             MaxCapacity=before.max)
        if sizes.desired != before.desired:
            ecs.update_service(cluster=service.cluster, service=service.name, desiredCount=before.desired)
        run.actions.append(f"ecs service {service.key}: {sizes} -> {before}")
        run.wait(service.tags, f"ecs service {service.key}", f"stable at {before.desired} tasks", "ecs",
                 "ServicesStable", cluster=service.cluster, services=[service.name])
    if TAG_SIZE in service.tags:
        ecs.untag_resource(resourceArn=service.arn, tagKeys=[TAG_SIZE])
    run.data["ecs"].pop(service.key, None)
    run.remember()


def _as_registered(before: ServiceSizes, now: ServiceSizes) -> ServiceSizes:
    """``before`` as it would read now: a scaler deregistered while asleep is not registered again."""
    return before if now.scaled else ServiceSizes(before.desired)
