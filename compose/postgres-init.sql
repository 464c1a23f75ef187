-- One database per service (shared/topology.py: ServiceSpec.database = shop_<service>).
-- Runs once, when the postgres container starts on an empty data volume (docker-entrypoint-initdb.d).
-- The role `shop` is created by the image from POSTGRES_USER / POSTGRES_PASSWORD.
CREATE DATABASE shop_gateway OWNER shop;
CREATE DATABASE shop_user OWNER shop;
CREATE DATABASE shop_product OWNER shop;
CREATE DATABASE shop_order OWNER shop;
CREATE DATABASE shop_inventory OWNER shop;
CREATE DATABASE shop_payment OWNER shop;
