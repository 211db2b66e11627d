"""Kafka's configuration, as Odradek reads it: ``server.properties`` with Kafka's names.

* :mod:`.config_def`: types, validators and key definitions (Kafka's ``ConfigDef``);
* :mod:`.broker_configs` and its groups (:mod:`.coordinator_configs`,
  :mod:`.security_configs`, :mod:`.remote_storage_configs`): every broker key;
* :mod:`.topic_configs`: every topic key and its broker synonyms;
* :mod:`.support`: which keys Odradek acts on, and the messages for the rest;
* :mod:`.listeners`: listener, voter and address strings;
* :mod:`.validation`: the rules across keys;
* :mod:`.broker_config`: :class:`BrokerConfig`, the checked result;
* :mod:`.resolver`: values, sources and synonyms for DescribeConfigs;
* :mod:`.embedded`: the configuration of ``odradek start`` without a file.
"""

from .broker_config import BrokerConfig, load_broker_config
from .broker_configs import BROKER_CONFIGS
from .config_def import ConfigError, ConfigKey, ConfigProblem, ConfigType, UpdateMode
from .embedded import embedded_default_properties
from .listeners import Endpoint, SecurityProtocol, Voter
from .resolver import ConfigLayers, ConfigSource, describe_broker_config, describe_topic
from .topic_configs import TOPIC_CONFIGS, TOPIC_SYNONYMS

__all__ = [
    "BROKER_CONFIGS",
    "TOPIC_CONFIGS",
    "TOPIC_SYNONYMS",
    "BrokerConfig",
    "ConfigError",
    "ConfigKey",
    "ConfigLayers",
    "ConfigProblem",
    "ConfigSource",
    "ConfigType",
    "Endpoint",
    "SecurityProtocol",
    "UpdateMode",
    "Voter",
    "describe_broker_config",
    "describe_topic",
    "embedded_default_properties",
    "load_broker_config",
]
